package walletredis

import "github.com/redis/go-redis/v9"

// Why Lua: each operation reads the balance, decides and writes, and those
// must be one step. As separate commands two gateway replicas could both
// read "70 available" and both take 70 (one-api's preConsumeQuota bug);
// Redis runs a script without interleaving any other command, so 200
// concurrent Reserves against a balance for 10 grant exactly 10 (invariant
// 1), and a Settle's "already settled?" check, its debit, its marker and its
// usage event cannot be split by a second Settle (invariant 2).
//
// Every script gets the same first keys and arguments:
//
//	KEYS[1] Account hash {balance, held, period, seq, xseq}   KEYS[2] Holds hash   KEYS[3] Leases zset
//	ARGV[1] "balance:period:seq" to load if Redis has none, or '' (then the
//	        script answers -1, the caller asks the Loader and runs it again)
//	ARGV[2] now, Unix milliseconds (the wallet's clock, so tests can move it)
//
// All keys carry one hash tag, so every script runs in one Cluster slot.
// Numbers are Lua doubles: exact up to 2^53 credits.
//
// The Holds hash and the Leases zset hold the same request ids (every
// script adds an id to both or removes it from both) and always get their
// TTL together, the same one: so they exist together, expire together, and
// one PTTL tells both. The scripts rely on it to spare Redis calls on the
// hot path: open() learns whether the holds keys exist from the PTTL that
// extend() needs anyway, or from the hold Settle just found.
const prelude = `
local now = tonumber(ARGV[2])

-- leasesttl: PTTL of the Leases zset (-2: the holds keys do not exist),
-- read once; lttl is reset to nil by anything that may delete the keys
-- before the value is used again.
local lttl
local function leasesttl()
  if not lttl then lttl = redis.call('PTTL', KEYS[3]) end
  return lttl
end

-- open returns balance, held, and the period's credits and number as
-- stored (strings, false when missing: a wallet loaded before they were
-- kept), loading ARGV[1] when Redis has no balance (only if absent: a
-- concurrent load or grant that got here first wins), or nil when there
-- is nothing to load. holdsexist says the caller knows the holds keys
-- exist (it found a hold in them). The period's fields come in the same
-- HMGET: they cost the common path nothing.
local function open(holdsexist)
  local v = redis.call('HMGET', KEYS[1], 'balance', 'held', 'period', 'seq')
  if v[1] then
    local held = tonumber(v[2]) or 0
    -- The holds keys expire (TTL) only after every lease in them ran out.
    if held ~= 0 and not holdsexist and leasesttl() == -2 then
      held = 0
      redis.call('HSET', KEYS[1], 'held', 0)
    end
    return tonumber(v[1]), held, v[3], v[4]
  end
  if ARGV[1] == '' then return nil end
  local b, p, s = string.match(ARGV[1], '^(%d+):(%d+):(%d+)$')
  if not b then return redis.error_reply('walletredis: bad balance to load') end
  -- If only the balance was lost (evicted), surviving holds keep protecting.
  local held = 0
  for _, a in ipairs(redis.call('HVALS', KEYS[2])) do held = held + tonumber(a) end
  redis.call('HSET', KEYS[1], 'balance', b, 'held', held, 'period', p, 'seq', s)
  return tonumber(b), held, p, s
end

-- reclaim drops holds whose lease ran out (their gateway died) and returns
-- the credits freed and how many holds it dropped.
local function reclaim()
  local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
  if #ids == 0 then return 0, 0 end
  lttl = nil
  local freed = 0
  for _, a in ipairs(redis.call('HMGET', KEYS[2], unpack(ids))) do
    if a then freed = freed + tonumber(a) end
  end
  redis.call('HDEL', KEYS[2], unpack(ids))
  redis.call('ZREM', KEYS[3], unpack(ids))
  if freed ~= 0 then redis.call('HINCRBY', KEYS[1], 'held', -freed) end
  return freed, #ids
end

-- extend makes both holds keys live at least ttl - slack more milliseconds
-- (ttl is the longest lease in them + holdGrace, 1 h): only when their
-- PTTL fell below that does it set both to ttl. The slack, 10 minutes,
-- spares the two PEXPIREs on all but about one call in ten minutes per
-- account, and the keys still outlive every lease in them by at least
-- holdGrace - slack, 50 minutes. Call it after the script's last write to
-- the holds keys (a PTTL read before those writes is still right: writes
-- keep a key's TTL, and a key they create had none, PTTL -2).
local slack = 600000
local function extend(ttl)
  ttl = tonumber(ttl)
  if leasesttl() < ttl - slack then
    redis.call('PEXPIRE', KEYS[2], ttl)
    redis.call('PEXPIRE', KEYS[3], ttl)
    lttl = ttl
  end
end

local function int(n) return string.format('%.0f', n) end

-- exhausted returns the alert "exhausted:<seq>:<balance>" of the balance
-- running out in period seq, or '' when this period raised it already:
-- the xseq field keeps the last period that did, so that a settlement
-- reaching zero and the refusals after it (by the hundred, from a client
-- retrying) put one alert on the stream, not one each. Only on the rare
-- paths (a refusal, a balance reaching zero).
local function exhausted(seq, bal)
  seq = seq or '0'
  if redis.call('HGET', KEYS[1], 'xseq') == seq then return '' end
  redis.call('HSET', KEYS[1], 'xseq', seq)
  return 'exhausted:' .. seq .. ':' .. int(bal)
end
`

// reserveScript: KEYS[4] usage stream; ARGV[3] request id, [4] amount, [5]
// minimum, [6] lease ms, [7] TTL ms of the holds keys, [8] the account id
// when a refusal raises the exhausted alert (wallet.Hold.AlertOnRefusal),
// else empty. Returns {1, granted}, {2, existing hold}, {0, available}
// (insufficient) or {-1, 0} (load needed). A refusal with ARGV[8] set
// appends an alert event to the usage stream, once per period (exhausted
// says how): the 402 reaches the database through the usage writer, and
// costs the gateway no round trip of its own. Expired holds are
// reclaimed only when the balance falls short, which keeps the common case
// to a handful of commands. The decision mirrors wallet.Hold.Grant.
//
// When the available balance covers the amount (and the amount the
// minimum), the grant is the amount, with no reclaim and nothing written
// since open(): HSETNX is then at once the "existing hold?" check (0: the
// answer is the existing hold, and nothing was written) and the write of
// the hold. Otherwise the existing hold is looked for first, before
// reclaim(), whose writes must not happen for a repeated Reserve (nor drop
// its own expired hold and grant it anew).
//
// Redis calls on the common path: HMGET, HSETNX, HINCRBY, ZADD, then the
// PTTL of extend when other holds are held (5), or the two PEXPIREs when
// none is (6: the holds keys are new); with other holds, the PEXPIREs once
// in ten minutes.
var reserveScript = redis.NewScript(prelude + reserveSrc)

const reserveSrc = `
local bal, held, _, seq = open()
if not bal then return {-1, 0} end
-- held is the sum of the holds (every script changes both together), so
-- none held means no holds keys: the usual case of an account with one
-- request at a time, whose Settle deleted them.
if held == 0 then lttl = -2 end
local id = ARGV[3]
local amount, minimum = tonumber(ARGV[4]), tonumber(ARGV[5])
local g
-- gs is g as Redis gets it: ARGV[4] as given when the grant is the amount
-- (nearly always), so that no number is formatted (sprintf, in Redis's Lua
-- about as dear as a Redis call).
local gs
if bal - held >= amount and amount >= minimum then
  g, gs = amount, ARGV[4]
  if redis.call('HSETNX', KEYS[2], id, gs) == 0 then
    return {2, tonumber(redis.call('HGET', KEYS[2], id))}
  end
else
  local have = redis.call('HGET', KEYS[2], id)
  if have then return {2, tonumber(have)} end
  if bal - held < amount then held = held - reclaim() end
  local avail = bal - held
  if avail < minimum then
    if ARGV[8] ~= '' then
      local a = exhausted(seq, bal)
      -- the alert event: one field (walletredis.AlertVersion "1", usage.go)
      if a ~= '' then redis.call('XADD', KEYS[4], '*', 'a', '1\31' .. ARGV[8] .. '\31' .. a) end
    end
    return {0, math.max(avail, 0)}
  end
  g = math.min(amount, avail)
  gs = int(g)
  redis.call('HSET', KEYS[2], id, gs)
end
redis.call('HINCRBY', KEYS[1], 'held', gs)
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), id)
extend(ARGV[7])
return {1, g}
`

// settleScript: KEYS[4] Settled marker, KEYS[5] usage stream; ARGV[3]
// request id, [4] cost, [5] marker TTL ms, [6] account id, [7] the rest of
// the usage event, packed (packUsage). Returns {1, charged, shortfall,
// balance}, {2, ...} for a replay (the first charge and shortfall, the
// current balance) or {-1, 0, 0, 0} (load needed). The marker, the debit and
// the XADD happen together or not at all. The charge mirrors wallet.Charge,
// the balance alert the event carries wallet.DebitAlert (the alert is
// empty when there is none, nearly always, and then costs nothing).
//
// bal and held track the account hash exactly (open() returns what it
// holds or has just written, reclaim() returns what it took off held), so
// when both fields change one HSET of their new values does what two
// HINCRBYs would. A hold found means the holds keys exist, so open() need
// not look. Common path: GET, HGET, HMGET, HDEL, ZREM, HSET, SET, XADD.
// When the balance pays the whole cost (nearly always), the charge is
// ARGV[4] as given and the shortfall '0': no number is formatted for the
// marker or the event (Redis's Lua formats numbers with sprintf, about as
// dear as a Redis call).
var settleScript = redis.NewScript(prelude + settleSrc)

const settleSrc = `
local done = redis.call('GET', KEYS[4])
if done then
  local c, s = string.match(done, '^(%d+):(%d+)$')
  return {2, tonumber(c), tonumber(s), tonumber(redis.call('HGET', KEYS[1], 'balance')) or 0}
end
local id = ARGV[3]
local hold = redis.call('HGET', KEYS[2], id)
local bal, held, period, seq = open(hold ~= false)
if not bal then return {-1, 0, 0, 0} end
if hold then
  hold = tonumber(hold)
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  held = held - hold
end
local cost = tonumber(ARGV[4])
if bal - held < cost then held = held - reclaim() end
local charged = math.max(math.min(cost, bal - held), 0)
local shortfall = cost - charged
if charged ~= 0 and hold then
  redis.call('HSET', KEYS[1], 'balance', int(bal - charged), 'held', int(held))
elseif charged ~= 0 then
  redis.call('HINCRBY', KEYS[1], 'balance', -charged)
elseif hold then
  redis.call('HINCRBY', KEYS[1], 'held', -hold)
end
local cs, ss = ARGV[4], '0'
if shortfall ~= 0 then cs, ss = int(charged), int(shortfall) end
redis.call('SET', KEYS[4], cs .. ':' .. ss, 'PX', ARGV[5])
local alert = ''
if charged ~= 0 then
  local after, m = bal - charged, tonumber(period) or 0
  if after == 0 then
    alert = exhausted(seq, 0)
  elseif m > 0 and bal * 5 >= m and after * 5 < m then
    alert = 'low:' .. (seq or '0') .. ':' .. int(after)
  end
end
-- the event: one field (walletredis.UsageVersion "5", usage.go)
redis.call('XADD', KEYS[5], '*', 'e', '5\31' .. id .. '\31' .. ARGV[6] .. '\31' .. cs .. '\31' .. ss .. '\31' .. ARGV[2] .. '\31' .. alert .. '\31' .. ARGV[7])
return {1, charged, shortfall, bal - charged}
`

// releaseScript: ARGV[3] request id. Returns {credits freed}. It never
// loads: a wallet Redis does not know has no holds to release.
var releaseScript = redis.NewScript(prelude + `
local a = redis.call('HGET', KEYS[2], ARGV[3])
if not a then return {0} end
redis.call('HDEL', KEYS[2], ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'held', -tonumber(a)) end
return {tonumber(a)}
`)

// renewScript: ARGV[3] request id, [4] lease ms, [5] TTL ms of the holds
// keys. Returns {1}, or {0} when the hold is gone.
var renewScript = redis.NewScript(prelude + renewSrc)

const renewSrc = `
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then return {0} end
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[4]), ARGV[3])
extend(ARGV[5])
return {1}
`

// creditScript: KEYS[4] Grants set; ARGV[3] reference, [4] amount, [5] TTL
// ms of the set. Returns {1, balance} when applied, {0, balance} when the
// reference was applied before, {-1, 0} (load needed). The membership test
// and the increment are one step, so concurrent webhooks apply once; the
// period (the credits "of this period", the balance right after the most
// recent grant) is set, and its number seq counted, in the same step.
var creditScript = redis.NewScript(prelude + `
if redis.call('SISMEMBER', KEYS[4], ARGV[3]) == 1 then
  return {0, tonumber(redis.call('HGET', KEYS[1], 'balance')) or 0}
end
local bal = open()
if not bal then return {-1, 0} end
local nb = redis.call('HINCRBY', KEYS[1], 'balance', ARGV[4])
redis.call('HSET', KEYS[1], 'period', nb)
redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('SADD', KEYS[4], ARGV[3])
redis.call('PEXPIRE', KEYS[4], ARGV[5])
return {1, nb}
`)

// balanceScript returns {1, balance, held, period, seq} after reclaiming
// expired holds, or {-1, 0, 0, 0, 0} (load needed). A live wallet loaded
// before it kept a period gets its balance as the period, the rule the
// database's migration applied to existing wallets.
var balanceScript = redis.NewScript(prelude + `
local bal, held, period, seq = open()
if not bal then return {-1, 0, 0, 0, 0} end
held = held - reclaim()
if not period then
  period = bal
  redis.call('HSET', KEYS[1], 'period', int(bal))
end
return {1, bal, held, tonumber(period), tonumber(seq) or 0}
`)

// sweepScript reclaims one account's expired holds for ReclaimExpired and
// returns how many it dropped. A wallet Redis lost is left alone: its holds
// keys expire by TTL and open() zeroes held when it is next loaded.
var sweepScript = redis.NewScript(prelude + `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local _, n = reclaim()
return n
`)
