// Package capacitymem is the capacity.Store of the embedded mode: slots
// and the queue in this process's memory, behind one mutex. The gateway is
// a single replica there, so nothing needs sharing; leases still expire as
// in capacityredis (the same conformance suite runs against both), which
// also frees a slot whose request leaked it.
package capacitymem

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/resayil/portal/gateway/internal/capacity"
)

// Defaults of Config.
const (
	DefaultSlotLease = 30 * time.Second
	DefaultWaitLease = 5 * time.Second
)

// Config tunes a Store.
type Config struct {
	// SlotLease is the lease of a slot, renewed by its holder's Pool.
	SlotLease time.Duration
	// WaitLease is the lease of a queue place, renewed at each poll.
	WaitLease time.Duration
	// Now is the lease clock; nil means time.Now.
	Now func() time.Time
}

type waiter struct {
	id      string
	prio    int
	rank    int64
	seq     uint64
	hosts   []string
	expires time.Time
}

// Store is the in-memory capacity store.
type Store struct {
	cfg Config

	mu    sync.Mutex
	slots map[string]map[string]time.Time // host → id → lease expiry
	queue []*waiter                       // sorted by (rank, seq)
	byID  map[string]*waiter
	// granted holds waiters granted a slot that have not learned it yet.
	granted map[string]string
	seq     uint64
	subs    map[chan capacity.Grant]struct{}
	// cur is the one call in progress (under mu), reused so that the hot
	// path allocates nothing here.
	cur call
}

var _ capacity.Store = (*Store)(nil)

// New returns an empty Store.
func New(cfg Config) *Store {
	if cfg.SlotLease <= 0 {
		cfg.SlotLease = DefaultSlotLease
	}
	if cfg.WaitLease <= 0 {
		cfg.WaitLease = DefaultWaitLease
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Store{cfg: cfg, slots: map[string]map[string]time.Time{}, byID: map[string]*waiter{},
		granted: map[string]string{}, subs: map[chan capacity.Grant]struct{}{}}
	s.cur.s = s
	s.cur.used = map[string]int{}
	return s
}

// call is one atomic operation: expired leases dropped, the host view.
type call struct {
	s     *Store
	now   time.Time
	hosts []capacity.Host
	used  map[string]int
	woken []capacity.Grant
}

func (s *Store) begin(hosts []capacity.Host) *call {
	c := &s.cur
	c.now, c.hosts, c.woken = s.cfg.Now(), hosts, nil
	clear(c.used)
	for _, ids := range s.slots {
		for id, exp := range ids {
			if !exp.After(c.now) {
				delete(ids, id)
				delete(s.granted, id)
			}
		}
	}
	for _, h := range hosts {
		c.used[h.ID] = len(s.slots[h.ID])
	}
	kept := s.queue[:0]
	for _, w := range s.queue {
		if w.expires.After(c.now) {
			kept = append(kept, w)
		} else {
			delete(s.byID, w.id)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	return c
}

func (c *call) slots(host string) int {
	for _, h := range c.hosts {
		if h.ID == host {
			return h.Slots
		}
	}
	return 0
}

func (c *call) anyFree() bool {
	for _, h := range c.hosts {
		if c.used[h.ID] < h.Slots {
			return true
		}
	}
	return false
}

// pick returns the least-loaded host of ids with a free slot (first in
// ids order among equals), or "".
func (c *call) pick(ids []string) string {
	best, bu, bs := "", 0, 0
	for _, id := range ids {
		n, u := c.slots(id), c.used[id]
		if u < n && (best == "" || u*bs < bu*n) {
			best, bu, bs = id, u, n
		}
	}
	return best
}

func (c *call) give(id, host string) {
	ids := c.s.slots[host]
	if ids == nil {
		ids = map[string]time.Time{}
		c.s.slots[host] = ids
	}
	ids[id] = c.now.Add(c.s.cfg.SlotLease)
	c.used[host]++
}

// serve grants free slots to waiters in rank order.
func (c *call) serve() {
	if !c.anyFree() {
		return
	}
	s := c.s
	kept := s.queue[:0]
	for i, w := range s.queue {
		if host := c.pick(w.hosts); host != "" {
			c.give(w.id, host)
			s.granted[w.id] = host
			delete(s.byID, w.id)
			c.woken = append(c.woken, capacity.Grant{ID: w.id, Host: host})
			if !c.anyFree() {
				kept = append(kept, s.queue[i+1:]...)
				break
			}
			continue
		}
		kept = append(kept, w)
	}
	clear(s.queue[len(kept):])
	s.queue = kept
}

func (c *call) done(r capacity.Result, host string) capacity.Outcome {
	if len(c.woken) > 0 {
		for ch := range c.s.subs {
			for _, g := range c.woken {
				select {
				case ch <- g:
				default:
				}
			}
		}
	}
	return capacity.Outcome{Result: r, Host: host, Waiting: len(c.s.queue), Woken: c.woken}
}

func (s *Store) remove(id string) {
	if _, ok := s.byID[id]; !ok {
		return
	}
	delete(s.byID, id)
	s.queue = slices.DeleteFunc(s.queue, func(w *waiter) bool { return w.id == id })
}

// Enter implements capacity.Store.
func (s *Store) Enter(_ context.Context, hosts []capacity.Host, e capacity.Entry) (capacity.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(e.ID)
	c := s.begin(hosts)
	c.serve()
	if host := c.pick(e.Hosts); host != "" {
		c.give(e.ID, host)
		return c.done(capacity.Granted, host), nil
	}
	waiting := len(s.queue)
	if e.Mode == capacity.NoWait || (e.Mode == capacity.QueueUpTo && waiting > e.MaxWaiting) {
		return c.done(capacity.Busy, ""), nil
	}
	if e.QueueMax > 0 && waiting >= e.QueueMax {
		return c.done(capacity.Full, ""), nil
	}
	s.seq++
	w := &waiter{id: e.ID, prio: e.Priority, rank: e.Rank, seq: s.seq, hosts: slices.Clone(e.Hosts), expires: c.now.Add(s.cfg.WaitLease)}
	i, _ := slices.BinarySearchFunc(s.queue, w, func(a, b *waiter) int {
		if a.rank != b.rank {
			if a.rank < b.rank {
				return -1
			}
			return 1
		}
		if a.seq < b.seq {
			return -1
		}
		return 1
	})
	s.queue = slices.Insert(s.queue, i, w)
	s.byID[e.ID] = w
	return c.done(capacity.Queued, ""), nil
}

// Poll implements capacity.Store.
func (s *Store) Poll(_ context.Context, hosts []capacity.Host, id string) (capacity.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.begin(hosts)
	if w, ok := s.byID[id]; ok {
		w.expires = c.now.Add(s.cfg.WaitLease)
	}
	c.serve()
	if host, ok := s.granted[id]; ok {
		delete(s.granted, id)
		return c.done(capacity.Granted, host), nil
	}
	if _, ok := s.byID[id]; ok {
		return c.done(capacity.Queued, ""), nil
	}
	return c.done(capacity.Gone, ""), nil
}

// Leave implements capacity.Store.
func (s *Store) Leave(_ context.Context, hosts []capacity.Host, id string) (capacity.Outcome, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.remove(id)
	delete(s.granted, id)
	for _, ids := range s.slots {
		delete(ids, id)
	}
	c := s.begin(hosts)
	c.serve()
	return c.done(capacity.Left, ""), nil
}

// Renew implements capacity.Store.
func (s *Store) Renew(_ context.Context, hosts []capacity.Host, held []capacity.Held) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.begin(hosts)
	var lost []string
	for _, h := range held {
		if _, ok := s.slots[h.Host][h.ID]; ok {
			s.slots[h.Host][h.ID] = c.now.Add(s.cfg.SlotLease)
		} else {
			lost = append(lost, h.ID)
		}
	}
	c.serve()
	c.done(0, "")
	return lost, nil
}

// Stats implements capacity.Store.
func (s *Store) Stats(_ context.Context, hosts []capacity.Host) (capacity.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.begin(hosts)
	st := capacity.Stats{InFlight: make(map[string]int, len(c.used)), Waiting: map[int]int{}}
	for h, n := range c.used {
		st.InFlight[h] = n
	}
	for _, w := range s.queue {
		st.Waiting[w.prio]++
	}
	return st, nil
}

// Wakeups implements capacity.Store: grants made by any Pool sharing this
// Store.
func (s *Store) Wakeups(ctx context.Context, fn func(capacity.Grant)) error {
	ch := make(chan capacity.Grant, 256)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, ch)
		s.mu.Unlock()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case g := <-ch:
			fn(g)
		}
	}
}
