// Package ratelimitmem is the in-process ratelimit.Limiter of the embedded
// mode, where one gateway replica (and one portal-api) owns all its limits.
//
// It sits on every API request, so it is built to cost nothing measurable:
// keys are spread over fixed shards, each a mutex and a map, so concurrent
// requests for different accounts rarely contend, and an Allow on a known key
// allocates nothing. Memory is bounded because login throttling keys (emails,
// client IPs) come from unauthenticated input: keys that have fully refilled
// hold no information and are swept out as new keys arrive, and a hard cap
// evicts the key closest to refilled when a shard is full.
package ratelimitmem

import (
	"context"
	"hash/maphash"
	"sync"
	"time"

	"github.com/resayil/portal/pkg/ratelimit"
)

// DefaultMaxKeys bounds memory to roughly 10 MiB of limiter state: far more
// accounts than one embedded machine serves, and enough throttled logins to
// ride out a credential-stuffing run before eviction starts forgiving.
const DefaultMaxKeys = 100_000

// shardCount is a power of two well above the core counts the embedded mode
// runs on, so the mask below picks a shard and lock contention stays rare.
const shardCount = 64

// minSweep keeps tiny shards from sweeping on every insert.
const minSweep = 64

// evictSample is how many keys a full shard looks at to find one to evict;
// like Redis' approximate LRU, a small random sample is good enough.
const evictSample = 8

// Config tunes a Limiter; the zero value is ready for production.
type Config struct {
	// Now is the clock. Tests inject one they advance by hand so that refill
	// and window-edge behaviour is checked exactly and without sleeping.
	// Default time.Now.
	Now func() time.Time
	// MaxKeys caps how many keys are kept. When full, the key nearest to
	// fully refilled is forgotten, which forgives what remained of its use.
	// Default DefaultMaxKeys.
	MaxKeys int
}

// Limiter is an in-process GCRA limiter. It is safe for concurrent use.
type Limiter struct {
	now func() time.Time
	// epoch is now() at New: times are nanoseconds since it.
	epoch  time.Time
	seed   maphash.Seed
	shards [shardCount]shard
}

var _ ratelimit.Limiter = (*Limiter)(nil)

type shard struct {
	mu sync.Mutex
	m  map[string]state
	// inserts counts new keys since the last sweep; sweeping once inserts
	// reach half the map keeps sweeps amortised O(1) per insert and idle
	// keys below the number of live ones.
	inserts int
	max     int
	_       [32]byte // one shard per cache line: no false sharing of locks
}

// New returns a Limiter with cfg's clock and key cap.
func New(cfg Config) *Limiter {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = DefaultMaxKeys
	}
	l := &Limiter{now: cfg.Now, epoch: cfg.Now(), seed: maphash.MakeSeed()}
	perShard := max(1, (cfg.MaxKeys+shardCount-1)/shardCount)
	for i := range l.shards {
		l.shards[i].m = make(map[string]state)
		l.shards[i].max = perShard
	}
	return l
}

// Allow implements ratelimit.Limiter.
func (l *Limiter) Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error) {
	return l.AllowN(ctx, key, limit, 1)
}

// AllowN implements ratelimit.Limiter.
func (l *Limiter) AllowN(_ context.Context, key string, limit ratelimit.Limit, n int) (ratelimit.Decision, error) {
	if err := limit.ValidateN(n); err != nil {
		return ratelimit.Decision{}, err
	}
	return l.take(key, limit, n), nil
}

// Peek implements ratelimit.Limiter.
func (l *Limiter) Peek(_ context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error) {
	if err := limit.Validate(); err != nil {
		return ratelimit.Decision{}, err
	}
	return l.take(key, limit, 0), nil
}

// Reset implements ratelimit.Limiter.
func (l *Limiter) Reset(_ context.Context, key string) error {
	s := l.shard(key)
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
	return nil
}

// Len returns how many keys are held, for a gauge and for tests of the bound.
func (l *Limiter) Len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

func (l *Limiter) shard(key string) *shard {
	return &l.shards[maphash.String(l.seed, key)&(shardCount-1)]
}

// take decides and stores under the shard lock, so check and update are one
// step: two requests can never both see the last free slot.
//
// The time is read under the lock too: read before it, a call that waited
// for the lock decided at a time earlier than the one that went first,
// saw that one's debt as larger by the difference, and could be told the
// same Remaining (the conformance suite caught it under -race). It is
// monotonic, counted from New, so a step of the wall clock cannot do the
// same.
func (l *Limiter) take(key string, limit ratelimit.Limit, n int) ratelimit.Decision {
	s := l.shard(key)
	s.mu.Lock()
	now := l.now().Sub(l.epoch).Nanoseconds()
	st, known := s.m[key]
	d, next, write := decide(st, now, limit, n)
	if write {
		if !known {
			s.makeRoom(now)
		}
		s.m[key] = next
	}
	s.mu.Unlock()
	return d
}

// makeRoom runs before a new key is inserted, with s.mu held.
func (s *shard) makeRoom(now int64) {
	s.inserts++
	if s.inserts >= minSweep && 2*s.inserts >= len(s.m) {
		// A key whose TAT has passed is fully refilled: forgetting it
		// changes no future decision.
		for k, st := range s.m {
			if st.tat <= now {
				delete(s.m, k)
			}
		}
		s.inserts = 0
	}
	if len(s.m) < s.max {
		return
	}
	var victim string
	var oldest int64
	seen := 0
	for k, st := range s.m { // map iteration starts at a random entry
		if seen == 0 || st.tat < oldest {
			victim, oldest = k, st.tat
		}
		if seen++; seen == evictSample {
			break
		}
	}
	delete(s.m, victim)
}
