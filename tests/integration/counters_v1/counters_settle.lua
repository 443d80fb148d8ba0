-- One settlement, atomically: replace a request's reservation by its real cost in every budget
-- window it reserved, free its lease (parallel slot), and correct its TPM log entries. Called with
-- EVALSHA by stargate.store.counters_redis; key layout in counters_admit.lua.
--
-- ARGV[1]  key prefix, "{name}:"
-- ARGV[2]  request id
-- ARGV[3]  actual cost (micro-dollars)
-- ARGV[4]  actual tokens
-- ARGV[5]  seconds the settled record is kept (so a second settlement is a no-op)
--
-- Reply: 1 when this call settled the request, 0 when it was settled before or is unknown.

local P, rid = ARGV[1], ARGV[2]
local actual, tokens = tonumber(ARGV[3]), tonumber(ARGV[4])
local rk = P .. 'r:' .. rid

local function I(n)
  return string.format('%d', n)
end

local rec = redis.call('HMGET', rk, 'st', 'm', 'b', 'l', 'tp')
local state = rec[1]
if not state or state == 's' then
  return 0
end
local budget_keys = cjson.decode(rec[3])
if state == 'a' then
  local m = tonumber(rec[2])
  for _, bk in ipairs(budget_keys) do
    if redis.call('EXISTS', bk) == 1 then
      redis.call('HINCRBY', bk, 'reserved', I(-m))
    end
  end
  for _, s in ipairs(cjson.decode(rec[4])) do
    redis.call('ZREM', P .. 'l:' .. s, rid)
  end
end
-- A counter that is gone belongs to a window that ended long ago: nothing to add to.
if actual ~= 0 then
  for _, bk in ipairs(budget_keys) do
    if redis.call('EXISTS', bk) == 1 then
      redis.call('HINCRBY', bk, 'spent', I(actual))
    end
  end
end
for _, s in ipairs(cjson.decode(rec[5])) do
  local tk = P .. 'tk:' .. s
  local reserved = redis.call('HGET', tk, rid)
  if reserved then
    redis.call('HSET', tk, rid, I(tokens))
    redis.call('HINCRBY', tk, '', I(tokens - tonumber(reserved)))
  end
end
redis.call('HDEL', rk, 'm', 'b', 'l', 'tp')
redis.call('HSET', rk, 'st', 's')
redis.call('EXPIRE', rk, ARGV[5])
return 1
