package keyauth

import (
	"crypto/sha256"
	"sync"
	"sync/atomic"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// hashKeyT is a key hash as the cache indexes it: fixed size, so map
// lookups neither allocate nor hex-encode.
type hashKeyT = [sha256.Size]byte

// entry is one cached lookup. Its fields change only under the shard's
// write lock, except lastUsed, which hits update atomically under the read
// lock.
type entry struct {
	principal resayil.Principal
	// found is false for a negative entry (unknown, revoked or disabled).
	found bool
	// freshUntil: until then the entry is served without asking the store.
	freshUntil time.Time
	// staleUntil (positive entries): until then the entry is still served
	// when a refresh fails because the store is down.
	staleUntil time.Time
	// lastUsed (unix nanoseconds of the injected clock) ranks entries for
	// eviction.
	lastUsed atomic.Int64
}

// call is one store lookup that concurrent misses of the same key share.
type call struct {
	done chan struct{}
	// waiters counts the requests that joined this lookup (guarded by the
	// shard's lock): tests release a held lookup only once all have.
	waiters int
	// Set before done is closed.
	principal resayil.Principal
	found     bool
	err       error
}

// shard is one part of the cache. Sharding keeps the read lock's counter
// from becoming one cache line that every core writes on every request.
type shard struct {
	mu    sync.RWMutex
	m     map[hashKeyT]*entry
	calls map[hashKeyT]*call
	max   int
}

// cache is bounded: Len never exceeds the configured maximum.
type cache struct {
	shards []shard
}

const (
	maxShards = 16
	// evictionSample is how many entries an insert into a full shard looks at
	// to pick the least recently used one (sampled LRU, as Redis does): exact
	// LRU would need a write lock on every hit.
	evictionSample = 8
	// touchGranularity limits how often a hit writes lastUsed.
	touchGranularity = int64(time.Second)
)

func newCache(maxEntries int) *cache {
	n := min(maxShards, maxEntries)
	c := &cache{shards: make([]shard, n)}
	for i := range c.shards {
		c.shards[i] = shard{
			m:     make(map[hashKeyT]*entry),
			calls: make(map[hashKeyT]*call),
			max:   maxEntries / n,
		}
	}
	return c
}

func (c *cache) shard(h *hashKeyT) *shard {
	return &c.shards[int(h[0])%len(c.shards)]
}

// get returns a copy of the entry for h, if any.
func (s *shard) get(h *hashKeyT, now time.Time) (e entrySnapshot, ok bool) {
	s.mu.RLock()
	ent := s.m[*h]
	if ent != nil {
		e = snapshot(ent)
		ns := now.UnixNano()
		if ns-ent.lastUsed.Load() >= touchGranularity {
			ent.lastUsed.Store(ns)
		}
	}
	s.mu.RUnlock()
	return e, ent != nil
}

// dead reports whether e can no longer be served in any case: a negative
// entry past its TTL, or a positive one past its staleness limit.
func (e *entry) dead(now time.Time) bool {
	if e.found {
		return !now.Before(e.staleUntil)
	}
	return !now.Before(e.freshUntil)
}

// entrySnapshot is an entry's value read under the lock.
type entrySnapshot struct {
	principal              resayil.Principal
	found                  bool
	freshUntil, staleUntil time.Time
}

func snapshot(e *entry) entrySnapshot {
	return entrySnapshot{principal: e.principal, found: e.found, freshUntil: e.freshUntil, staleUntil: e.staleUntil}
}

// put stores e under h, evicting another entry when the shard is full.
// Callers hold s.mu for writing.
func (s *shard) put(h hashKeyT, e *entry, now time.Time) {
	if _, exists := s.m[h]; !exists && len(s.m) >= s.max {
		s.evictOne(now)
	}
	e.lastUsed.Store(now.UnixNano())
	s.m[h] = e
}

// evictOne removes an entry that can no longer be served if the sample
// holds one, else the least recently used of the sample. Go starts every
// map iteration at a random place, so the sample is random.
func (s *shard) evictOne(now time.Time) {
	var (
		victim hashKeyT
		oldest int64
		seen   int
	)
	for h, e := range s.m {
		if e.dead(now) {
			victim = h
			break
		}
		if lu := e.lastUsed.Load(); seen == 0 || lu < oldest {
			victim, oldest = h, lu
		}
		if seen++; seen == evictionSample {
			break
		}
	}
	delete(s.m, victim)
}

// deleteIf removes the entries match selects. Callers hold s.mu for writing.
func (s *shard) deleteIf(match func(*entry) bool) {
	for h, e := range s.m {
		if match(e) {
			delete(s.m, h)
		}
	}
}

// each runs fn on every shard under its write lock.
func (c *cache) each(fn func(*shard)) {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		fn(s)
		s.mu.Unlock()
	}
}

func (c *cache) len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.RLock()
		n += len(s.m)
		s.mu.RUnlock()
	}
	return n
}
