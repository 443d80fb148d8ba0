-- One allotment given back, atomically: what it held becomes what its requests really did. Called
-- with EVALSHA by stargate.store.counters_allotments; key layout in counters_admit.lua.
--
-- An allotment was admitted by counters_admit.lua as one reservation of n requests, p parallel
-- slots, m micro-dollars and k tokens (its record r:<id> holds m and k). The replica admitted
-- requests against it in its own memory; here they take its place in Redis:
--   * budgets: the allotment's reservation goes; the spend of the requests that finished is
--     added, and those still in flight keep a reservation of their own;
--   * RPM logs: its n entries go; each request is entered at its own admission time;
--   * TPM logs: its k tokens go; each request is entered with its tokens (the real count once
--     finished, the reservation while in flight) at its admission time;
--   * parallel: its slots go; a request still in flight takes a slot of its own, with its lease;
--   * records: a finished request is remembered as settled (so a second settlement or admission
--     of it is refused, as for any request); one still in flight gets the record settlement needs.
-- Entries whose admission already left the sliding minute are not written to the logs.
--
-- ARGV[1]  key prefix, "{name}:"          ARGV[2]  allotment id
-- ARGV[3]  now (epoch ms)                 ARGV[4]  now - 60000 (the sliding minute's start)
-- ARGV[5]  seconds a finished record is kept
-- ARGV[6]  micro-dollars the finished requests spent
-- ARGV[7]  n, the RPM entries it took     ARGV[8]  p, the parallel slots it took
-- ARGV[9]  JSON list of the budget keys   ARGV[10] JSON list of the scopes
-- ARGV[11] JSON list of the scopes with a TPM limit
-- ARGV[12] JSON list of the scopes with an RPM limit
-- ARGV[13] JSON list of the scopes with a parallel limit
-- ARGV[14] u, the requests it admitted; then u times:
--          request id, admission time (ms), lease deadline (ms; 0: finished),
--          micro-dollars reserved (in flight; 0 when finished), tokens (see above)
--
-- Reply: 1 when this call returned the allotment, 0 when it had been returned before.

local P, aid, now_s, cutoff = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local grace, spent_s = ARGV[5], ARGV[6]
local n, p = tonumber(ARGV[7]), tonumber(ARGV[8])
local B, L, TP = ARGV[9], ARGV[10], ARGV[11]
local u = tonumber(ARGV[14])
local FIRST = 15
local LOG_TTL = '62000'

local function I(x)
  return string.format('%d', x)
end

-- One command over many arguments, in slices (unpack is bounded by Lua's stack); slices are even,
-- so score and member pairs stay together.
local function sliced(command, key, items)
  for j = 1, #items, 1000 do
    redis.call(command, key, unpack(items, j, math.min(j + 999, #items)))
  end
end

-- "<id>", "<id>#2" ... "<id>#count": the entries an allotment took.
local function names(count)
  local t = {aid}
  for j = 2, count do
    t[#t + 1] = aid .. '#' .. j
  end
  return t
end

local ak = P .. 'r:' .. aid
local rec = redis.call('HMGET', ak, 'st', 'm')
if rec[1] == 's' then
  return 0
end
-- An allotment whose lease ran out gave its reservation back already.
local held = 0
if rec[1] == 'a' then
  held = tonumber(rec[2])
end

local flying, leases, times, tokens = 0, {}, {}, {}
for i = 0, u - 1 do
  local at = FIRST + 5 * i
  local rid, when, deadline = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  if deadline ~= '0' then
    flying = flying + tonumber(ARGV[at + 3])
    leases[#leases + 1] = deadline
    leases[#leases + 1] = rid
  end
  if tonumber(when) > cutoff then
    times[#times + 1] = when
    times[#times + 1] = rid
    tokens[#tokens + 1] = rid
    tokens[#tokens + 1] = ARGV[at + 4]
  end
end

-- 1. Budgets. A counter that is gone belongs to a window that ended long ago.
local reserved, spent = flying - held, tonumber(spent_s)
if reserved ~= 0 or spent ~= 0 then
  for _, bk in ipairs(cjson.decode(B)) do
    if redis.call('EXISTS', bk) == 1 then
      if reserved ~= 0 then
        redis.call('HINCRBY', bk, 'reserved', I(reserved))
      end
      if spent ~= 0 then
        redis.call('HINCRBY', bk, 'spent', spent_s)
      end
    end
  end
end

-- 2. Parallel slots and leases.
local limited = {}
for _, s in ipairs(cjson.decode(ARGV[13])) do
  limited[s] = true
end
local slots = names(p)
for _, s in ipairs(cjson.decode(L)) do
  local lk = P .. 'l:' .. s
  if limited[s] and p > 1 then
    sliced('ZREM', lk, slots)
  else
    redis.call('ZREM', lk, aid)
  end
  if #leases > 0 then
    sliced('ZADD', lk, leases)
  end
end

-- 3. RPM logs.
local entries = names(n)
for _, s in ipairs(cjson.decode(ARGV[12])) do
  local q = P .. 'q:' .. s
  sliced('ZREM', q, entries)
  if #times > 0 then
    sliced('ZADD', q, times)
    redis.call('PEXPIRE', q, LOG_TTL)
  end
end

-- 4. TPM logs (the total in tk "" follows every change).
for _, s in ipairs(cjson.decode(TP)) do
  local tz, tk = P .. 't:' .. s, P .. 'tk:' .. s
  local change = 0
  local had = redis.call('HGET', tk, aid)
  if had then -- still in the minute (an admission purges entries that left it)
    redis.call('ZREM', tz, aid)
    redis.call('HDEL', tk, aid)
    change = -tonumber(had)
  end
  if #times > 0 then
    for j = 2, #tokens, 2 do
      change = change + tonumber(tokens[j])
    end
    sliced('ZADD', tz, times)
    sliced('HSET', tk, tokens)
    redis.call('PEXPIRE', tz, LOG_TTL)
    redis.call('PEXPIRE', tk, LOG_TTL)
  end
  if change ~= 0 then
    redis.call('HINCRBY', tk, '', I(change))
  end
end

-- 5. Records.
for i = 0, u - 1 do
  local at = FIRST + 5 * i
  local rk = P .. 'r:' .. ARGV[at]
  if ARGV[at + 2] == '0' then
    redis.call('HSET', rk, 'st', 's')
    redis.call('EXPIRE', rk, grace)
  else
    redis.call('HSET', rk, 'st', 'a', 'm', ARGV[at + 3], 'b', B, 'l', L, 'tp', TP,
      'k', ARGV[at + 4])
  end
end
redis.call('HSET', ak, 'st', 's', 'm', '', 'b', '', 'l', '', 'tp', '', 'k', '')
redis.call('EXPIRE', ak, grace)
return 1
