-- One admission, atomically: release expired leases, check every rate limit and budget of every
-- scope, and reserve everywhere or nowhere. Called with EVALSHA by stargate.store.counters_redis.
--
-- Every redis.call costs the script far more than the command itself, and so does decoding JSON:
-- the arguments come as plain strings (numbers in decimal, keys made by the client), a value
-- read once is not read again, and an expiry that already holds is not set again.
--
-- ARGV[1]  key prefix, "{name}:" (one hash tag for every key the scripts touch)
-- ARGV[2]  request id
-- ARGV[3]  now (epoch ms)          ARGV[4]  now - 60000 (the sliding minute's start, included)
-- ARGV[5]  lease deadline (ms)     ARGV[6]  micro-dollars to reserve    ARGV[7]  tokens to reserve
-- ARGV[8]  seconds a finished record is kept (after its lease's end, for a late settle)
-- ARGV[9]  requests it counts against RPM limits, n (1 for a request; an allotment's count)
-- ARGV[10] parallel slots it takes where a parallel limit is set, p (1 for a request)
-- ARGV[11] the record's b: JSON list of the budget keys   ARGV[12]  its l: JSON list of the scopes
-- ARGV[13] its tp: JSON list of the scopes with a TPM limit
-- ARGV[14...] the checks, one after the other:
--          scope, rpm, tpm, parallel (-1: no limit), number of budgets n,
--          then n times: budget key, limit, the instant (epoch ms) the counter may go (0: never)
--
-- Keys, under the prefix:
--   b:<scope>|<window>  HASH spent, reserved, e       (a budget window instance; e: the expiry
--                                                     last set on it, so it is set only once)
--   l:<scope>           ZSET request id -> lease deadline (ms); an allotment's slots past its
--                            first are "<id>#2" ... "<id>#p" (no record: expiry just drops them)
--   q:<scope>           ZSET request id -> admission time (ms)        (RPM log; an allotment's
--                            entries are "<id>", "<id>#2" ... "<id>#n" until it is returned)
--   t:<scope>           ZSET request id -> admission time (ms)        (TPM log)
--   tk:<scope>          HASH request id -> tokens, "" -> total,       (TPM log)
--                            "#r" -> when the logs' expiry was last set (ms; "#" is never in an id)
--   r:<rid>             HASH st (a active | x lease expired | s settled), m, b, l, tp,
--                            k (tokens reserved; records written before it lack it)
--
-- The sliding logs live 62 s after their expiry is set, which is done at most once a second per
-- scope with a TPM limit (whenever a log is new), so each lives at least 61 s after its last
-- entry, as when every admission set it to 61 s (older scripts still do: both work on the same
-- keys). RPM logs of scopes without a TPM limit are still set on every admission.
--
-- Reply: {"ok", budgets, rates} | {"rpm"|"tpm"|"parallel", check index, retry ms or ""}
--      | {"budget", budget index, budgets} | {"done", state}
-- where budgets = {spent, reserved, ...} per budget and rates = {used, oldest ms or "", ...} per
-- rate limit, in the order of the checks (RPM before TPM), as decimal strings or integers.

local P, rid, now_s, cutoff, deadline = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local micro_s, tokens_s = ARGV[6], ARGV[7]
local now, micro, tokens = tonumber(now_s), tonumber(micro_s), tonumber(tokens_s)
local n, p = tonumber(ARGV[9]), tonumber(ARGV[10])
local WINDOW = 60000
local LOG_TTL = '62000' -- set at most once a second
local RPM_TTL = '61000' -- set by every admission
local MARK = '#r'

local function I(n)
  return string.format('%d', n)
end

-- Where each check starts in ARGV.
local at = {}
do
  local k, last = 14, #ARGV
  while k <= last do
    at[#at + 1] = k
    k = k + 5 + 3 * tonumber(ARGV[k + 4])
  end
end

-- A lease ran out: give back its reservation everywhere, keep the record for a late settle
-- until the grace after the lease's end.
local function expire(id, ends, lease_key)
  local rk = P .. 'r:' .. id
  local rec = redis.call('HMGET', rk, 'st', 'm', 'b', 'l')
  if rec[1] == 'a' then
    local m = tonumber(rec[2])
    for _, bk in ipairs(cjson.decode(rec[3])) do
      if redis.call('EXISTS', bk) == 1 then
        redis.call('HINCRBY', bk, 'reserved', I(-m))
      end
    end
    for _, s in ipairs(cjson.decode(rec[4])) do
      redis.call('ZREM', P .. 'l:' .. s, id)
    end
    local keep = ends + tonumber(ARGV[8]) * 1000 - now
    if keep > 0 then
      redis.call('HSET', rk, 'st', 'x')
      redis.call('PEXPIRE', rk, I(keep))
    else
      redis.call('DEL', rk)
    end
  end
  redis.call('ZREM', lease_key, id)
end

-- ZADD score "<rid>", "<rid>#2" ... "<rid>#count" (in slices: unpack is bounded by Lua's stack);
-- how many were new.
local function add_entries(zkey, score, count)
  local added = redis.call('ZADD', zkey, score, rid)
  local pairs_ = {}
  for j = 2, count do
    pairs_[#pairs_ + 1] = score
    pairs_[#pairs_ + 1] = rid .. '#' .. j
    if #pairs_ >= 1000 or j == count then
      added = added + redis.call('ZADD', zkey, unpack(pairs_))
      pairs_ = {}
    end
  end
  return added
end

local function oldest(zkey)
  local first = redis.call('ZRANGE', zkey, 0, 0, 'WITHSCORES')
  if #first == 0 then
    return ''
  end
  return first[2]
end

-- What an id admitted before holds, read afresh.
local function tally()
  local budgets, rates = {}, {}
  for _, k in ipairs(at) do
    local s = ARGV[k]
    for j = k + 5, k + 2 + 3 * tonumber(ARGV[k + 4]), 3 do
      local v = redis.call('HMGET', ARGV[j], 'spent', 'reserved')
      budgets[#budgets + 1] = v[1] or '0'
      budgets[#budgets + 1] = v[2] or '0'
    end
    if tonumber(ARGV[k + 1]) >= 0 then
      local q = P .. 'q:' .. s
      rates[#rates + 1] = redis.call('ZCARD', q)
      rates[#rates + 1] = oldest(q)
    end
    if tonumber(ARGV[k + 2]) >= 0 then
      rates[#rates + 1] = redis.call('HGET', P .. 'tk:' .. s, '') or '0'
      rates[#rates + 1] = oldest(P .. 't:' .. s)
    end
  end
  return budgets, rates
end

-- 1. Expired leases of every scope named here stop counting.
for _, k in ipairs(at) do
  local lk = P .. 'l:' .. ARGV[k]
  local ended = redis.call('ZRANGEBYSCORE', lk, '-inf', now_s, 'WITHSCORES')
  for j = 1, #ended, 2 do
    expire(ended[j], tonumber(ended[j + 1]), lk)
  end
end

-- 2. An id seen before: an active one is admitted already (nothing more is reserved).
local state = redis.call('HGET', P .. 'r:' .. rid, 'st')
if state then
  if state ~= 'a' then
    return {'done', state}
  end
  local budgets, rates = tally()
  return {'ok', budgets, rates}
end

-- 3. Rate limits, scope by scope: requests and tokens in the sliding minute, then parallel.
-- What the TPM logs hold once admissions that left the minute are dropped (their tokens are
-- taken off the total in tk, written back before any reply), per check.
local counts, totals, marks, purged = {}, {}, {}, {}

local function write_purges()
  for i in pairs(purged) do
    redis.call('HSET', P .. 'tk:' .. ARGV[at[i]], '', I(totals[i]))
  end
end

-- Admissions that left the sliding minute stop counting against TPM (in slices, as unpack is
-- bounded by Lua's stack); the total and the mark come with the first slice's tokens.
local function tpm_total(i, tz, tk)
  local old = redis.call('ZRANGEBYSCORE', tz, '-inf', cutoff)
  local n = #old
  local got = redis.call('HMGET', tk, '', MARK, unpack(old, 1, math.min(n, 998)))
  local gone = 0
  for j = 3, #got do
    gone = gone + (tonumber(got[j]) or 0)
  end
  for j = 999, n, 1000 do
    for _, amount in ipairs(redis.call('HMGET', tk, unpack(old, j, math.min(j + 999, n)))) do
      gone = gone + (tonumber(amount) or 0)
    end
  end
  local total = (tonumber(got[1]) or 0) - gone
  if n > 0 then
    for j = 1, n, 1000 do
      redis.call('HDEL', tk, unpack(old, j, math.min(j + 999, n)))
    end
    redis.call('ZREMRANGEBYSCORE', tz, '-inf', cutoff)
    purged[i] = true
  end
  totals[i], marks[i] = total, got[2]
  return total
end

for i, k in ipairs(at) do
  local s = ARGV[k]
  local rpm, tpm, par = tonumber(ARGV[k + 1]), tonumber(ARGV[k + 2]), tonumber(ARGV[k + 3])
  if rpm >= 0 then
    local q = P .. 'q:' .. s
    redis.call('ZREMRANGEBYSCORE', q, '-inf', cutoff)
    local count = redis.call('ZCARD', q)
    if count + n > rpm then
      local retry = ''
      if rpm >= n then
        local leaving = redis.call('ZRANGE', q, count + n - rpm - 1, count + n - rpm - 1,
          'WITHSCORES')
        retry = I(math.max(0, tonumber(leaving[2]) + WINDOW - now))
      end
      write_purges()
      return {'rpm', I(i), retry}
    end
    counts[i] = count
  end
  if tpm >= 0 then
    local tk = P .. 'tk:' .. s
    local total = tpm_total(i, P .. 't:' .. s, tk)
    if total + tokens > tpm then
      local retry = ''
      if tokens <= tpm then
        local log = redis.call('ZRANGE', P .. 't:' .. s, 0, -1, 'WITHSCORES')
        local left = total
        for j = 1, #log, 2 do
          left = left - (tonumber(redis.call('HGET', tk, log[j])) or 0)
          if left + tokens <= tpm then
            retry = I(math.max(0, tonumber(log[j + 1]) + WINDOW - now))
            break
          end
        end
      end
      write_purges()
      return {'tpm', I(i), retry}
    end
  end
  if par >= 0 and redis.call('ZCARD', P .. 'l:' .. s) + p > par then
    write_purges()
    return {'parallel', I(i), ''}
  end
end

-- 4. Budgets: spent + reserved + this reservation within every limit.
local seen = {}
local failed = nil
for _, k in ipairs(at) do
  for j = k + 5, k + 2 + 3 * tonumber(ARGV[k + 4]), 3 do
    local v = redis.call('HMGET', ARGV[j], 'spent', 'reserved', 'e')
    seen[#seen + 1] = v
    local used = (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0)
    if failed == nil and used + micro > tonumber(ARGV[j + 1]) then
      failed = #seen
    end
  end
end
if failed ~= nil then
  write_purges()
  local budgets = {}
  for _, v in ipairs(seen) do
    budgets[#budgets + 1] = v[1] or '0'
    budgets[#budgets + 1] = v[2] or '0'
  end
  return {'budget', I(failed), budgets}
end

-- 5. Everything fits: reserve everywhere and record the request; the tally from what was read.
local budgets, rates = {}, {}
local index = 0
for i, k in ipairs(at) do
  local s = ARGV[k]
  if p > 1 and tonumber(ARGV[k + 3]) >= 0 then
    add_entries(P .. 'l:' .. s, deadline, p)
  else
    redis.call('ZADD', P .. 'l:' .. s, deadline, rid)
  end
  for j = k + 5, k + 2 + 3 * tonumber(ARGV[k + 4]), 3 do
    index = index + 1
    local bk, ends = ARGV[j], ARGV[j + 2]
    local reserved = redis.call('HINCRBY', bk, 'reserved', micro_s)
    if ends ~= '0' and seen[index][3] ~= ends then
      redis.call('PEXPIRE', bk, I(math.max(1, tonumber(ends) - now)))
      redis.call('HSET', bk, 'e', ends)
    end
    budgets[#budgets + 1] = seen[index][1] or '0'
    budgets[#budgets + 1] = reserved
  end
  local q = nil
  local count = counts[i]
  if count ~= nil then
    q = P .. 'q:' .. s
    local added = add_entries(q, now_s, n)
    rates[#rates + 1] = count + added
    if count == 0 and added == n then
      rates[#rates + 1] = now_s -- alone in the log
    else
      rates[#rates + 1] = oldest(q)
    end
  end
  local total = totals[i]
  if total == nil then
    if q ~= nil then
      redis.call('PEXPIRE', q, RPM_TTL)
    end
  else
    local tz, tk = P .. 't:' .. s, P .. 'tk:' .. s
    local first = redis.call('ZRANGE', tz, 0, 0, 'WITHSCORES')
    local added = redis.call('ZADD', tz, now_s, rid)
    total = total + tokens
    rates[#rates + 1] = total
    if #first == 0 or (added == 1 and tonumber(first[2]) > now) then
      rates[#rates + 1] = now_s
    elseif added == 1 then
      rates[#rates + 1] = first[2]
    else
      rates[#rates + 1] = oldest(tz)
    end
    local mark = tonumber(marks[i])
    local since = mark and now - mark
    if since and since >= 0 and since < 1000 and #first > 0 and count ~= 0 then
      redis.call('HSET', tk, rid, tokens_s, '', I(total))
    else
      redis.call('HSET', tk, rid, tokens_s, '', I(total), MARK, now_s)
      redis.call('PEXPIRE', tz, LOG_TTL)
      redis.call('PEXPIRE', tk, LOG_TTL)
      if q ~= nil then
        redis.call('PEXPIRE', q, LOG_TTL)
      end
    end
  end
end
redis.call('HSET', P .. 'r:' .. rid, 'st', 'a', 'm', micro_s, 'b', ARGV[11], 'l', ARGV[12],
  'tp', ARGV[13], 'k', tokens_s)
return {'ok', budgets, rates}
