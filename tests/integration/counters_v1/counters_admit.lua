-- One admission, atomically: release expired leases, check every rate limit and budget of every
-- scope, and reserve everywhere or nowhere. Called with EVALSHA by stargate.store.counters_redis.
--
-- ARGV[1]  key prefix, "{name}:" (one hash tag for every key the scripts touch)
-- ARGV[2]  JSON: {rid, now (ms), lease (ms), micro, tokens, grace (s a finished record is kept),
--          checks: [{s: scope, rpm, tpm, par (-1: no limit),
--                    b: [{w: window key, l: limit, ttl: ms the counter lives (0: forever)}]}]}
--
-- Keys, under the prefix:
--   b:<scope>|<window>  HASH spent, reserved          (a budget window instance)
--   l:<scope>           ZSET request id -> lease deadline (ms)
--   q:<scope>           ZSET request id -> admission time (ms)        (RPM log)
--   t:<scope>           ZSET request id -> admission time (ms)        (TPM log)
--   tk:<scope>          HASH request id -> tokens, "" -> total        (TPM log)
--   r:<rid>             HASH st (a active | x lease expired | s settled), m, b, l, tp
--
-- Reply: {"ok", budgets, rates} | {"rpm"|"tpm"|"parallel", check index, retry ms or ""}
--      | {"budget", budget index, budgets} | {"done", state}
-- where budgets = {spent, reserved, ...} per budget and rates = {used, oldest ms or "", ...} per
-- rate limit, in the order of the checks (RPM before TPM), all as decimal strings.

local P = ARGV[1]
local req = cjson.decode(ARGV[2])
local rid = req.rid
local now = req.now
local WINDOW = 60000

local function I(n)
  return string.format('%d', n)
end

-- A lease ran out: give back its reservation everywhere, keep the record for a late settle
-- until the grace after the lease's end.
local function expire(id, deadline, lease_key)
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
    local keep = deadline + req.grace * 1000 - now
    if keep > 0 then
      redis.call('HSET', rk, 'st', 'x')
      redis.call('PEXPIRE', rk, I(keep))
    else
      redis.call('DEL', rk)
    end
  end
  redis.call('ZREM', lease_key, id)
end

-- Admissions that left the sliding minute stop counting against TPM (in slices, as unpack is
-- bounded by Lua's stack).
local function purge_tokens(s)
  local tz, tk = P .. 't:' .. s, P .. 'tk:' .. s
  local old = redis.call('ZRANGEBYSCORE', tz, '-inf', I(now - WINDOW))
  local gone = 0
  for i = 1, #old, 1000 do
    local slice = {unpack(old, i, math.min(i + 999, #old))}
    for _, amount in ipairs(redis.call('HMGET', tk, unpack(slice))) do
      gone = gone + (tonumber(amount) or 0)
    end
    redis.call('HDEL', tk, unpack(slice))
  end
  if #old > 0 then
    redis.call('HINCRBY', tk, '', I(-gone))
    redis.call('ZREMRANGEBYSCORE', tz, '-inf', I(now - WINDOW))
  end
end

local function oldest(zkey)
  local first = redis.call('ZRANGE', zkey, 0, 0, 'WITHSCORES')
  if #first == 0 then
    return ''
  end
  return first[2]
end

local function tally()
  local budgets, rates = {}, {}
  for _, c in ipairs(req.checks) do
    for _, b in ipairs(c.b) do
      local v = redis.call('HMGET', P .. 'b:' .. c.s .. '|' .. b.w, 'spent', 'reserved')
      budgets[#budgets + 1] = v[1] or '0'
      budgets[#budgets + 1] = v[2] or '0'
    end
    if c.rpm >= 0 then
      local q = P .. 'q:' .. c.s
      rates[#rates + 1] = I(redis.call('ZCARD', q))
      rates[#rates + 1] = oldest(q)
    end
    if c.tpm >= 0 then
      rates[#rates + 1] = redis.call('HGET', P .. 'tk:' .. c.s, '') or '0'
      rates[#rates + 1] = oldest(P .. 't:' .. c.s)
    end
  end
  return budgets, rates
end

-- 1. Expired leases of every scope named here stop counting.
for _, c in ipairs(req.checks) do
  local lk = P .. 'l:' .. c.s
  local ended = redis.call('ZRANGEBYSCORE', lk, '-inf', I(now), 'WITHSCORES')
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
for i, c in ipairs(req.checks) do
  if c.rpm >= 0 then
    local q = P .. 'q:' .. c.s
    redis.call('ZREMRANGEBYSCORE', q, '-inf', I(now - WINDOW))
    local count = redis.call('ZCARD', q)
    if count + 1 > c.rpm then
      local retry = ''
      if c.rpm > 0 then
        local leaving = redis.call('ZRANGE', q, count - c.rpm, count - c.rpm, 'WITHSCORES')
        retry = I(math.max(0, tonumber(leaving[2]) + WINDOW - now))
      end
      return {'rpm', I(i), retry}
    end
  end
  if c.tpm >= 0 then
    purge_tokens(c.s)
    local tk = P .. 'tk:' .. c.s
    local total = tonumber(redis.call('HGET', tk, '') or '0')
    if total + req.tokens > c.tpm then
      local retry = ''
      if req.tokens <= c.tpm then
        local log = redis.call('ZRANGE', P .. 't:' .. c.s, 0, -1, 'WITHSCORES')
        local left = total
        for j = 1, #log, 2 do
          left = left - (tonumber(redis.call('HGET', tk, log[j])) or 0)
          if left + req.tokens <= c.tpm then
            retry = I(math.max(0, tonumber(log[j + 1]) + WINDOW - now))
            break
          end
        end
      end
      return {'tpm', I(i), retry}
    end
  end
  if c.par >= 0 and redis.call('ZCARD', P .. 'l:' .. c.s) + 1 > c.par then
    return {'parallel', I(i), ''}
  end
end

-- 4. Budgets: spent + reserved + this reservation within every limit.
local index = 0
local failed = nil
for _, c in ipairs(req.checks) do
  for _, b in ipairs(c.b) do
    index = index + 1
    local v = redis.call('HMGET', P .. 'b:' .. c.s .. '|' .. b.w, 'spent', 'reserved')
    local used = (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0)
    if failed == nil and used + req.micro > b.l then
      failed = index
    end
  end
end
if failed ~= nil then
  local budgets = tally()
  return {'budget', I(failed), budgets}
end

-- 5. Everything fits: reserve everywhere and record the request.
local budget_keys, scopes, tpm_scopes = {}, {}, {}
local deadline = I(now + req.lease)
for _, c in ipairs(req.checks) do
  scopes[#scopes + 1] = c.s
  redis.call('ZADD', P .. 'l:' .. c.s, deadline, rid)
  for _, b in ipairs(c.b) do
    local bk = P .. 'b:' .. c.s .. '|' .. b.w
    budget_keys[#budget_keys + 1] = bk
    redis.call('HINCRBY', bk, 'reserved', I(req.micro))
    if b.ttl > 0 then
      redis.call('PEXPIRE', bk, I(b.ttl))
    end
  end
  if c.rpm >= 0 then
    local q = P .. 'q:' .. c.s
    redis.call('ZADD', q, I(now), rid)
    redis.call('PEXPIRE', q, I(WINDOW + 1000))
  end
  if c.tpm >= 0 then
    local tz, tk = P .. 't:' .. c.s, P .. 'tk:' .. c.s
    tpm_scopes[#tpm_scopes + 1] = c.s
    redis.call('ZADD', tz, I(now), rid)
    redis.call('HSET', tk, rid, I(req.tokens))
    redis.call('HINCRBY', tk, '', I(req.tokens))
    redis.call('PEXPIRE', tz, I(WINDOW + 1000))
    redis.call('PEXPIRE', tk, I(WINDOW + 1000))
  end
end
redis.call('HSET', P .. 'r:' .. rid, 'st', 'a', 'm', I(req.micro), 'b', cjson.encode(budget_keys),
  'l', cjson.encode(scopes), 'tp', cjson.encode(tpm_scopes))
local budgets, rates = tally()
return {'ok', budgets, rates}
