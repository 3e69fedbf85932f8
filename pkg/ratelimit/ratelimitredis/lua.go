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
// The key is a string "tat:iv" (tat = theoretical arrival time in server
// microseconds, iv = emission interval the tat was written with), written
// with its TTL in one SET: the time until it is fully refilled, after which
// it carries no information. It is written when requests are admitted and
// when a limit change converts it. (A hash {tat, iv} and a PEXPIRE took one
// Redis call more per request; inside a benchmark run every call a script
// makes costs Redis several microseconds.)
//
// ARGV[1] emission interval in microseconds (Per / Requests, at least 1)
// ARGV[2] Requests
// ARGV[3] n, the requests to take; 0 peeks at the next single request
// Returns {allowed (0|1), remaining, reset_after_us, retry_after_us}.
//
// The arithmetic mirrors ratelimitmem's decide (in nanoseconds there); the
// conformance suite holds the two to the same behaviour.
var gcraScript = redis.NewScript(gcraSrc)

const gcraSrc = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local iv = tonumber(ARGV[1])
local requests = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local window = iv * requests

local tat, old
local st = redis.call('GET', KEYS[1])
if st then
  local a, b = string.match(st, '^(%d+):(%d+)$')
  tat, old = tonumber(a), tonumber(b)
end
local debt = 0
local converted = false
if tat and tat > now then
  debt = tat - now
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
  redis.call('SET', KEYS[1], string.format('%.0f', now + d) .. ':' .. ARGV[1], 'PX', math.max(math.ceil(d / 1000), 1))
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
`
