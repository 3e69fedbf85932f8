package capacityredis

import "github.com/redis/go-redis/v9"

// Why one Lua script: a release must hand its slot to the right waiter,
// and an arrival must see the queue and the slots as they are, in one step
// across every replica; Redis runs a script without interleaving another
// command. Every operation first drops expired leases (a dead gateway's
// slots and places), and every operation that frees a slot serves the
// queue before it returns.
//
//	KEYS[1] queue zset id → rank       KEYS[2] waiters hash id → "prio|host\nhost"
//	KEYS[3] places zset id → expiry    KEYS[4] granted hash id → host (not yet picked up)
//	KEYS[4+i] slots zset of host i: id → lease expiry
//	ARGV[1] op  ARGV[2] now (Unix ms)  ARGV[3] slot lease ms  ARGV[4] place lease ms
//	ARGV[5] key TTL ms  ARGV[6] wake-up channel  ARGV[7] n hosts
//	ARGV[6+2i], ARGV[7+2i] host i's id and slots; then the op's arguments
//
// Reply: {result, host, waiting, n, grant_1 .. grant_n, extra...}, each
// grant "id\nhost"; the grants are also published on the channel, joined
// by tabs. All keys share the hash tag {capacity}: one Cluster slot.
var script = redis.NewScript(`
local Q, W, WL, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local op = ARGV[1]
local now = tonumber(ARGV[2])
local slotLease, waitLease, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local channel = ARGV[6]
local nh = tonumber(ARGV[7])
local hosts, byId = {}, {}
for i = 1, nh do
  local h = {id = ARGV[6 + 2 * i], slots = tonumber(ARGV[7 + 2 * i]), key = KEYS[4 + i]}
  hosts[i] = h
  byId[h.id] = i
end
local a = 8 + 2 * nh

for i = 1, nh do
  local h = hosts[i]
  local gone = redis.call('ZRANGEBYSCORE', h.key, '-inf', now)
  for _, id in ipairs(gone) do
    redis.call('ZREM', h.key, id)
    redis.call('HDEL', G, id)
  end
  h.used = redis.call('ZCARD', h.key)
end
local dead = redis.call('ZRANGEBYSCORE', WL, '-inf', now)
for _, id in ipairs(dead) do
  redis.call('ZREM', WL, id)
  redis.call('ZREM', Q, id)
  redis.call('HDEL', W, id)
end

local function anyfree()
  for i = 1, nh do
    if hosts[i].used < hosts[i].slots then return true end
  end
  return false
end

-- pick: the least-loaded host of list with a free slot, first among equals.
local function pick(list)
  local best, bu, bs
  for hid in string.gmatch(list, '[^\n]+') do
    local i = byId[hid]
    if i then
      local h = hosts[i]
      if h.used < h.slots and (best == nil or h.used * bs < bu * h.slots) then
        best, bu, bs = i, h.used, h.slots
      end
    end
  end
  return best
end

local function give(id, i)
  local h = hosts[i]
  redis.call('ZADD', h.key, now + slotLease, id)
  h.used = h.used + 1
end

local woken = {}
local function serve()
  if not anyfree() then return end
  for _, id in ipairs(redis.call('ZRANGE', Q, 0, -1)) do
    local info = redis.call('HGET', W, id)
    if not info then
      redis.call('ZREM', Q, id)
      redis.call('ZREM', WL, id)
    else
      local i = pick(string.sub(info, string.find(info, '|', 1, true) + 1))
      if i then
        give(id, i)
        redis.call('HSET', G, id, hosts[i].id)
        redis.call('ZREM', Q, id)
        redis.call('HDEL', W, id)
        redis.call('ZREM', WL, id)
        woken[#woken + 1] = id .. '\n' .. hosts[i].id
        if not anyfree() then return end
      end
    end
  end
end

local function touch()
  for k = 1, #KEYS do redis.call('PEXPIRE', KEYS[k], ttl) end
end

local function reply(result, host, extra)
  if #woken > 0 then redis.call('PUBLISH', channel, table.concat(woken, '\t')) end
  local out = {result, host, redis.call('ZCARD', Q), #woken}
  for _, g in ipairs(woken) do out[#out + 1] = g end
  if extra then
    for _, x in ipairs(extra) do out[#out + 1] = x end
  end
  return out
end

-- results: 1 granted, 2 queued, 3 busy, 4 full, 5 gone, 6 left
if op == 'enter' then
  local id, prio, rank, list = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local mode, maxw, qmax = ARGV[a + 4], tonumber(ARGV[a + 5]), tonumber(ARGV[a + 6])
  redis.call('ZREM', Q, id)
  redis.call('HDEL', W, id)
  redis.call('ZREM', WL, id)
  serve()
  local i = pick(list)
  if i then
    give(id, i)
    touch()
    return reply(1, hosts[i].id)
  end
  local waiting = redis.call('ZCARD', Q)
  if mode == 'nowait' or (mode == 'upto' and waiting > maxw) then return reply(3, '') end
  if qmax > 0 and waiting >= qmax then return reply(4, '') end
  redis.call('ZADD', Q, rank, id)
  redis.call('HSET', W, id, prio .. '|' .. list)
  redis.call('ZADD', WL, now + waitLease, id)
  touch()
  return reply(2, '')
elseif op == 'poll' then
  local id = ARGV[a]
  if redis.call('ZSCORE', Q, id) then redis.call('ZADD', WL, now + waitLease, id) end
  serve()
  local host = redis.call('HGET', G, id)
  if host then
    redis.call('HDEL', G, id)
    touch()
    return reply(1, host)
  end
  if redis.call('ZSCORE', Q, id) then
    touch()
    return reply(2, '')
  end
  return reply(5, '')
elseif op == 'leave' then
  local id = ARGV[a]
  redis.call('ZREM', Q, id)
  redis.call('HDEL', W, id)
  redis.call('ZREM', WL, id)
  redis.call('HDEL', G, id)
  for i = 1, nh do
    if redis.call('ZREM', hosts[i].key, id) == 1 then hosts[i].used = hosts[i].used - 1 end
  end
  serve()
  return reply(6, '')
elseif op == 'renew' then
  local lost = {}
  for j = a, #ARGV, 2 do
    local id, i = ARGV[j], byId[ARGV[j + 1]]
    if i and redis.call('ZSCORE', hosts[i].key, id) then
      redis.call('ZADD', hosts[i].key, now + slotLease, id)
    else
      lost[#lost + 1] = id
    end
  end
  serve()
  touch()
  return reply(0, '', lost)
elseif op == 'stats' then
  local extra = {}
  for i = 1, nh do extra[#extra + 1] = tostring(hosts[i].used) end
  local counts = {}
  for _, v in ipairs(redis.call('HVALS', W)) do
    local p = string.match(v, '^(%-?%d+)|')
    counts[p] = (counts[p] or 0) + 1
  end
  for p, c in pairs(counts) do extra[#extra + 1] = p .. '=' .. c end
  return reply(0, '', extra)
end
return redis.error_reply('capacity: unknown op ' .. op)
`)
