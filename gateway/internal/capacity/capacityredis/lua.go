package capacityredis

import "github.com/redis/go-redis/v9"

// Why one Lua script: a release must hand its slot to the right waiter,
// and an arrival must see the queue and the slots as they are, in one step
// across every replica; Redis runs a script without interleaving another
// command. Every operation that frees a slot serves the queue before it
// returns.
//
// Expired leases never count. A host's used slots are its live leases
// (ZCOUNT of the scores above now), counted once per call and only for the
// hosts the call looks at, so the slots of a dead gateway are free the
// moment their leases run out, exactly as if they had been dropped. Poll,
// renew and stats also drop expired leases (with the pending grant of the
// same slot) and dead waiters' places; enter and leave, the hot path, do
// not. The garbage stays bounded: expired leases are only those of dead
// gateways or failed releases, each gateway renews its slots every 10 s
// and its router reads stats periodically, and every key has a TTL.
//
// The queue, the waiters hash and the places zset always hold the same
// ids: enter adds an id to the three together and every removal removes
// it from the three (unqueue; a waiter with no waiters entry is repaired
// in serve). So when the queue is empty (the common case) enter and leave
// skip it entirely: no dead waiter to drop, no place of their own to
// remove, nobody to serve, and its length is the reply's waiting count.
// The Redis calls of that path, with n hosts: enter = ZCARD queue, ZCOUNT
// per eligible host that is up, ZADD, PEXPIRE of the one slots key it
// wrote; leave = ZREM per host, HDEL granted, ZCARD queue, or without the
// HDEL when the caller says the id entered directly ("direct" after the
// id: it was never queued, so no grant of it can wait). Any call that
// hands a slot to a waiter refreshes the TTL of every key.
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
var script = redis.NewScript(scriptSrc)

const scriptSrc = fastSrc + generalSrc

// fastSrc handles enter and leave when the queue is empty; everything else
// falls through to generalSrc (a test runs both on the same operations and
// holds them to the same replies and the same keys).
const fastSrc = `
-- The fast paths: enter and leave when nobody waits, nearly every call.
-- They do what the general code below does in that case, with the same
-- Redis calls, but before it builds its tables and closures: Redis pays
-- for Lua work on every call, and that setup was most of what these two
-- cost (two thirds, measured in isolation). Anything else falls through.
if ARGV[1] == 'enter' or ARGV[1] == 'leave' then
  local nh = tonumber(ARGV[7])
  local id = ARGV[8 + 2 * nh]
  if ARGV[1] == 'leave' then
    for i = 1, nh do redis.call('ZREM', KEYS[4 + i], id) end
    if ARGV[9 + 2 * nh] ~= 'direct' then redis.call('HDEL', KEYS[4], id) end
    if redis.call('ZCARD', KEYS[1]) == 0 then return {6, '', 0, 0} end
  elseif redis.call('ZCARD', KEYS[1]) == 0 then
    -- pick below, on the same terms: the least loaded eligible host with
    -- a free slot, first among equals.
    local live = '(' .. ARGV[2]
    local best, bu, bs
    for hid in string.gmatch(ARGV[11 + 2 * nh], '[^\n]+') do
      for i = 1, nh do
        if ARGV[6 + 2 * i] == hid then
          local slots = tonumber(ARGV[7 + 2 * i])
          if slots > 0 then
            local u = redis.call('ZCOUNT', KEYS[4 + i], live, '+inf')
            if u < slots and (best == nil or u * bs < bu * slots) then best, bu, bs = i, u, slots end
          end
          break
        end
      end
    end
    if best then
      redis.call('ZADD', KEYS[4 + best], tonumber(ARGV[2]) + tonumber(ARGV[3]), id)
      redis.call('PEXPIRE', KEYS[4 + best], ARGV[5])
      return {1, ARGV[6 + 2 * best], 0, 0}
    end
    if ARGV[12 + 2 * nh] == 'nowait' then return {3, '', 0, 0} end
  end
end
`

// generalSrc is every operation in the general case.
const generalSrc = `
local op = ARGV[1]
local Q, W, WL, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now = tonumber(ARGV[2])
local live = '(' .. ARGV[2]
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

-- used: the host's live leases, counted once per call when first needed.
local function used(h)
  if not h.used then h.used = redis.call('ZCOUNT', h.key, live, '+inf') end
  return h.used
end

-- free: whether the host has a free slot (a host that is out, 0 slots,
-- has none whatever its count, so it is not counted).
local function free(h)
  return h.slots > 0 and used(h) < h.slots
end

-- queued: the queue's length, read once and again only after a change
-- (every write to the queue sets qlen to nil).
local qlen
local function queued()
  if not qlen then qlen = redis.call('ZCARD', Q) end
  return qlen
end

local function unqueue(id)
  redis.call('ZREM', Q, id)
  redis.call('HDEL', W, id)
  redis.call('ZREM', WL, id)
  qlen = nil
end

-- dropdead drops the waiters whose place lease ran out.
local function dropdead()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', WL, '-inf', now)) do unqueue(id) end
end

-- cleanup physically drops every expired lease (and the pending grant of
-- the same slot) and every dead waiter.
local function cleanup()
  for i = 1, nh do
    local h = hosts[i]
    local gone = redis.call('ZRANGEBYSCORE', h.key, '-inf', now)
    if #gone > 0 then
      redis.call('ZREMRANGEBYSCORE', h.key, '-inf', now)
      for _, id in ipairs(gone) do
        -- Only the grant of this slot: the id may hold a live slot on
        -- another host since (enter and leave do not drop expired leases).
        if redis.call('HGET', G, id) == h.id then redis.call('HDEL', G, id) end
      end
    end
  end
  dropdead()
end

local function anyfree()
  for i = 1, nh do
    if free(hosts[i]) then return true end
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
      if free(h) and (best == nil or h.used * bs < bu * h.slots) then
        best, bu, bs = i, h.used, h.slots
      end
    end
  end
  return best
end

-- give: i comes from pick, so its count is known.
local function give(id, i)
  local h = hosts[i]
  redis.call('ZADD', h.key, now + slotLease, id)
  h.used = h.used + 1
end

-- serve hands free slots to the queue in rank order; dead waiters must
-- have been dropped first.
local woken = {}
local function serve()
  if queued() == 0 or not anyfree() then return end
  for _, id in ipairs(redis.call('ZRANGE', Q, 0, -1)) do
    local info = redis.call('HGET', W, id)
    if not info then
      redis.call('ZREM', Q, id)
      redis.call('ZREM', WL, id)
      qlen = nil
    else
      local i = pick(string.sub(info, string.find(info, '|', 1, true) + 1))
      if i then
        give(id, i)
        redis.call('HSET', G, id, hosts[i].id)
        unqueue(id)
        woken[#woken + 1] = id .. '\n' .. hosts[i].id
        if not anyfree() then return end
      end
    end
  end
end

local touched = false
local function touch()
  for k = 1, #KEYS do redis.call('PEXPIRE', KEYS[k], ttl) end
  touched = true
end

local function reply(result, host, extra)
  if #woken > 0 then
    -- The hand-over wrote slots and grants (maybe recreating a key a ZREM
    -- had emptied): give them their TTL.
    if not touched then touch() end
    redis.call('PUBLISH', channel, table.concat(woken, '\t'))
  end
  local out = {result, host, queued(), #woken}
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
  -- An empty queue: no place of id's own to drop (it would be in the
  -- queue), nobody to serve first.
  local fast = queued() == 0
  if not fast then
    dropdead()
    unqueue(id)
    serve()
  end
  local i = pick(list)
  if i then
    give(id, i)
    if fast then
      redis.call('PEXPIRE', hosts[i].key, ttl)
    else
      touch()
    end
    return reply(1, hosts[i].id)
  end
  local waiting = queued()
  if mode == 'nowait' or (mode == 'upto' and waiting > maxw) then return reply(3, '') end
  if qmax > 0 and waiting >= qmax then return reply(4, '') end
  -- id is in none of the three (the queue was empty or id was unqueued).
  qlen = waiting + redis.call('ZADD', Q, rank, id)
  redis.call('HSET', W, id, prio .. '|' .. list)
  redis.call('ZADD', WL, now + waitLease, id)
  touch()
  return reply(2, '')
elseif op == 'poll' then
  cleanup()
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
  for i = 1, nh do redis.call('ZREM', hosts[i].key, id) end
  redis.call('HDEL', G, id)
  -- An empty queue: id has no place in it, and nobody waits for the slot.
  if queued() > 0 then
    dropdead()
    unqueue(id)
    serve()
  end
  return reply(6, '')
elseif op == 'renew' then
  cleanup()
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
  cleanup()
  local extra = {}
  for i = 1, nh do extra[#extra + 1] = tostring(used(hosts[i])) end
  local counts = {}
  for _, v in ipairs(redis.call('HVALS', W)) do
    local p = string.match(v, '^(%-?%d+)|')
    counts[p] = (counts[p] or 0) + 1
  end
  for p, c in pairs(counts) do extra[#extra + 1] = p .. '=' .. c end
  return reply(0, '', extra)
end
return redis.error_reply('capacity: unknown op ' .. op)
`
