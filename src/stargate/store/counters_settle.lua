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

local P, rid, actual_s, tokens_s = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local rk = P .. 'r:' .. rid

local rec = redis.call('HMGET', rk, 'st', 'm', 'b', 'l', 'tp', 'k')
local state = rec[1]
if not state or state == 's' then
  return 0
end
local active = state == 'a'
-- A lease that ran out gave its reservation back already.
local release = active and rec[2] ~= '0'
local spend = actual_s ~= '0'
if release or spend then
  local minus = '-' .. rec[2]
  local keys = cjson.decode(rec[3])
  -- A counter that is gone belongs to a window that ended long ago: nothing to add to. One
  -- EXISTS asks about them all; only when some are gone is each asked about.
  local all = #keys == 0 or redis.call('EXISTS', unpack(keys)) == #keys
  for _, bk in ipairs(keys) do
    if all or redis.call('EXISTS', bk) == 1 then
      if release then
        redis.call('HINCRBY', bk, 'reserved', minus)
      end
      if spend then
        redis.call('HINCRBY', bk, 'spent', actual_s)
      end
    end
  end
end
if active then
  for _, s in ipairs(cjson.decode(rec[4])) do
    redis.call('ZREM', P .. 'l:' .. s, rid)
  end
end
-- The TPM logs count the actual tokens instead of the reserved ones, unless the admission left
-- the sliding minute already.
local reserved = rec[6]
if reserved ~= tokens_s and rec[5] ~= '[]' and rec[5] ~= '{}' then
  local tokens = tonumber(tokens_s)
  for _, s in ipairs(cjson.decode(rec[5])) do
    local tk = P .. 'tk:' .. s
    if reserved then
      if redis.call('HSET', tk, rid, tokens_s) == 0 then
        redis.call('HINCRBY', tk, '', string.format('%d', tokens - tonumber(reserved)))
      else
        redis.call('HDEL', tk, rid) -- it had left: as it was
      end
    else -- a record from before k was kept: the log says what was reserved
      local held = redis.call('HGET', tk, rid)
      if held then
        redis.call('HSET', tk, rid, tokens_s)
        redis.call('HINCRBY', tk, '', string.format('%d', tokens - tonumber(held)))
      end
    end
  end
end
redis.call('HSET', rk, 'st', 's', 'm', '', 'b', '', 'l', '', 'tp', '', 'k', '')
redis.call('EXPIRE', rk, ARGV[5])
return 1
