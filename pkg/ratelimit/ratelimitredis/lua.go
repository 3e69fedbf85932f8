package ratelimitredis

import "github.com/redis/go-redis/v9"

// gcraScript is GCRA as one Lua script because reading the TAT, deciding and
// writing the new TAT must be one atomic step: as separate commands, two
// gateway replicas could both read the same TAT and both admit the last
// request of a window. Redis runs a script without interleaving any other
// command, so N concurrent callers admit exactly N.
//
// The time is the Redis server's TIME, not an argument: gateway replicas'
// clocks drift apart, and a replica whose clock runs behind would see every
// TAT as further ahead (refusing too much) while one running ahead would
// admit early. One clock for everyone keeps the limit exact. (Redis 5+
// replicates a script's effects rather than the script, so a non-
// deterministic TIME before a write is allowed; replicate_commands makes
// that explicit on older servers and is a no-op on newer ones.)
//
// It touches only KEYS[1], so it is safe on Redis Cluster: one key, one slot.
// The key is a hash {tat = theoretical arrival time in server microseconds,
// iv = emission interval the tat was written with}; its TTL is the time until
// it is fully refilled, after which it carries no information. It is written
// when requests are admitted and when a limit change converts it.
//
// ARGV[1] emission interval in microseconds (Per / Requests, at least 1)
// ARGV[2] Requests
// ARGV[3] n, the requests to take; 0 peeks at the next single request
// Returns {allowed (0|1), remaining, reset_after_us, retry_after_us}.
//
// The arithmetic mirrors ratelimitmem's decide (in nanoseconds there); the
// conformance suite holds the two to the same behaviour.
var gcraScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local iv = tonumber(ARGV[1])
local requests = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local window = iv * requests

local st = redis.call('HMGET', KEYS[1], 'tat', 'iv')
local tat = tonumber(st[1])
local debt = 0
local converted = false
if tat and tat > now then
  debt = tat - now
  local old = tonumber(st[2])
  if old and old ~= iv then
    -- the limit changed: keep the count used, in the new interval
    debt = math.ceil(debt * iv / old)
    converted = true
  end
  if debt > window then
    -- at most one full window: a downgrade waits one new interval at most
    debt = window
    converted = true
  end
end

-- store the debt: admitted requests add to it; a converted debt is stored
-- even when nothing is admitted, or the cap would be reapplied every call
local function store(d)
  -- iv as given (ARGV[1], an integer): one number less to format
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', now + d), 'iv', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.ceil(d / 1000))
end

local cost = n
if cost == 0 then cost = 1 end
local after = debt + cost * iv
if after > window or n == 0 then
  if converted then store(debt) end
  if after > window then
    return {0, math.floor((window - debt) / iv), debt, after - window}
  end
  return {1, math.floor((window - debt) / iv), debt, 0}
end
store(after)
return {1, math.floor((window - after) / iv), after, 0}
`)
