// Package capacitytest is the conformance suite every capacity.Store runs
// (one definition of correct for every implementation, docs/architecture.md
// "Two ways to run"), in memory and against real Redis: the queue order
// (priority, arrival, aging), least-loaded placement, leases that free a dead
// gateway's slots and places, and, through several Pools sharing one store as
// several gateway replicas do, capacity never exceeded under concurrency and
// prompt wake-ups.
package capacitytest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/capacity"
)

// Harness is a store under test.
type Harness struct {
	// New returns a store on the shared backing: in Redis a new client on
	// the same prefix (another gateway replica); in memory the same store.
	New func(t *testing.T) capacity.Store
	// Clock is the stores' lease clock; the suite advances it.
	Clock *Clock
	// SlotLease and WaitLease are the stores' leases.
	SlotLease, WaitLease time.Duration
}

// Clock is a manual clock: leases expire when a test advances it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at the current time.
func NewClock() *Clock { return &Clock{now: time.Now().UTC().Truncate(time.Millisecond)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// RunConformance runs every behaviour as a subtest, each on a fresh
// harness.
func RunConformance(t *testing.T, newHarness func(t *testing.T) Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"GrantsUpToSlotsThenQueues", testGrantsThenQueues},
		{"LeastLoadedHost", testLeastLoaded},
		{"OnlyEligibleHosts", testEligible},
		{"PriorityThenArrival", testPriorityOrder},
		{"ModesAndBound", testModes},
		{"LeaveHandsSlotToNextWaiter", testLeaveHandsOn},
		{"LeaveQueuedPlace", testLeaveQueued},
		{"DeadGatewaySlotIsTakenBack", testExpiredSlot},
		{"DeadGatewayPlaceIsDropped", testExpiredPlace},
		{"RenewKeepsSlots", testRenew},
		{"HostOutGetsNothing", testHostOut},
		{"Stats", testStats},
		{"Pool_AgingPreventsStarvation", testPoolAging},
		{"Pool_EnterpriseOvertakesTenBasic", testPoolEnterpriseFirst},
		{"Pool_TimeoutAndCancelLeaveTheQueue", testPoolTimeout},
		{"Pool_NeverOverCapacity_ThreeReplicas", testPoolConcurrent},
		{"Pool_WakeUpLatency", testPoolWakeLatency},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newHarness(t)) })
	}
}

var ctx = context.Background()

func hosts(spec ...any) []capacity.Host {
	var out []capacity.Host
	for i := 0; i < len(spec); i += 2 {
		out = append(out, capacity.Host{ID: spec[i].(string), Slots: spec[i+1].(int)})
	}
	return out
}

func entry(id string, rank int64, ids ...string) capacity.Entry {
	return capacity.Entry{ID: id, Rank: rank, Hosts: ids}
}

func enter(t *testing.T, s capacity.Store, hs []capacity.Host, e capacity.Entry) capacity.Outcome {
	t.Helper()
	out, err := s.Enter(ctx, hs, e)
	if err != nil {
		t.Fatalf("Enter(%s): %v", e.ID, err)
	}
	return out
}

func leave(t *testing.T, s capacity.Store, hs []capacity.Host, id string) capacity.Outcome {
	t.Helper()
	out, err := s.Leave(ctx, hs, id)
	if err != nil {
		t.Fatalf("Leave(%s): %v", id, err)
	}
	return out
}

func poll(t *testing.T, s capacity.Store, hs []capacity.Host, id string) capacity.Outcome {
	t.Helper()
	out, err := s.Poll(ctx, hs, id)
	if err != nil {
		t.Fatalf("Poll(%s): %v", id, err)
	}
	return out
}

func stats(t *testing.T, s capacity.Store, hs []capacity.Host) capacity.Stats {
	t.Helper()
	st, err := s.Stats(ctx, hs)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func wantResult(t *testing.T, out capacity.Outcome, r capacity.Result, host string) {
	t.Helper()
	if out.Result != r || out.Host != host {
		t.Fatalf("outcome %v on %q, want %v on %q (%+v)", out.Result, out.Host, r, host, out)
	}
}

func testGrantsThenQueues(t *testing.T, h Harness) {
	s := h.New(t)
	hs := hosts("a", 2)
	wantResult(t, enter(t, s, hs, entry("1", 1, "a")), capacity.Granted, "a")
	wantResult(t, enter(t, s, hs, entry("2", 2, "a")), capacity.Granted, "a")
	out := enter(t, s, hs, entry("3", 3, "a"))
	wantResult(t, out, capacity.Queued, "")
	if out.Waiting != 1 {
		t.Fatalf("waiting %d", out.Waiting)
	}
	wantResult(t, poll(t, s, hs, "3"), capacity.Queued, "")
	if st := stats(t, s, hs); st.InFlight["a"] != 2 || st.Waiting[0] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func testLeastLoaded(t *testing.T, h Harness) {
	s := h.New(t)
	hs := hosts("a", 4, "b", 1)
	got := map[string]int{}
	for i := range 5 {
		out := enter(t, s, hs, entry(fmt.Sprint(i), int64(i), "a", "b"))
		if out.Result != capacity.Granted {
			t.Fatalf("entry %d: %+v", i, out)
		}
		got[out.Host]++
	}
	if got["a"] != 4 || got["b"] != 1 {
		t.Fatalf("placement %v, want a:4 b:1", got)
	}
	// Equal load: the first host in the entry's order.
	s2 := h.New(t)
	hs2 := hosts("x", 2, "y", 2)
	wantResult(t, enter(t, s2, hs2, entry("p", 1, "y", "x")), capacity.Granted, "y")
	wantResult(t, enter(t, s2, hs2, entry("q", 2, "y", "x")), capacity.Granted, "x")
	wantResult(t, enter(t, s2, hs2, entry("r", 3, "x", "y")), capacity.Granted, "x")
}

func testEligible(t *testing.T, h Harness) {
	s := h.New(t)
	hs := hosts("a", 1, "b", 1)
	wantResult(t, enter(t, s, hs, entry("holdB", 1, "b")), capacity.Granted, "b")
	wantResult(t, enter(t, s, hs, entry("wantB", 2, "b")), capacity.Queued, "")
	// A waiter that may use a serves before wantB, which may not.
	wantResult(t, enter(t, s, hs, entry("holdA", 3, "a")), capacity.Granted, "a")
	wantResult(t, enter(t, s, hs, entry("wantA", 4, "a")), capacity.Queued, "")
	out := leave(t, s, hs, "holdA")
	if len(out.Woken) != 1 || out.Woken[0] != (capacity.Grant{ID: "wantA", Host: "a"}) {
		t.Fatalf("freeing a woke %+v, want wantA only", out.Woken)
	}
	wantResult(t, poll(t, s, hs, "wantB"), capacity.Queued, "")
	out = leave(t, s, hs, "holdB")
	if len(out.Woken) != 1 || out.Woken[0] != (capacity.Grant{ID: "wantB", Host: "b"}) {
		t.Fatalf("freeing b woke %+v", out.Woken)
	}
}

// Lower rank first whatever the arrival order (the Pool derives ranks from
// priority and arrival).
func testPriorityOrder(t *testing.T, h Harness) {
	s := h.New(t)
	hs := hosts("a", 1)
	wantResult(t, enter(t, s, hs, entry("holder", 0, "a")), capacity.Granted, "a")
	for _, e := range []capacity.Entry{entry("b1", 100, "a"), entry("b2", 101, "a"), entry("e1", 50, "a"), entry("p1", 75, "a"), entry("b3", 102, "a")} {
		wantResult(t, enter(t, s, hs, e), capacity.Queued, "")
	}
	order := []string{}
	cur := "holder"
	for range 5 {
		out := leave(t, s, hs, cur)
		if len(out.Woken) != 1 {
			t.Fatalf("leave %s woke %+v", cur, out.Woken)
		}
		cur = out.Woken[0].ID
		order = append(order, cur)
	}
	if want := []string{"e1", "p1", "b1", "b2", "b3"}; !slices.Equal(order, want) {
		t.Fatalf("served %v, want %v", order, want)
	}
}

func testModes(t *testing.T, h Harness) {
	s := h.New(t)
	hs := hosts("a", 1)
	wantResult(t, enter(t, s, hs, entry("holder", 0, "a")), capacity.Granted, "a")
	e := entry("nw", 1, "a")
	e.Mode = capacity.NoWait
	if out := enter(t, s, hs, e); out.Result != capacity.Busy || out.Waiting != 0 {
		t.Fatalf("no-wait: %+v", out)
	}
	// Up to 3 waiting: the 4th still queues (3 waiting is not more than
	// 3), the 5th does not.
	for i := range 4 {
		e := entry(fmt.Sprint("u", i), int64(10+i), "a")
		e.Mode, e.MaxWaiting = capacity.QueueUpTo, 3
		wantResult(t, enter(t, s, hs, e), capacity.Queued, "")
	}
	e = entry("u4", 20, "a")
	e.Mode, e.MaxWaiting = capacity.QueueUpTo, 3
	if out := enter(t, s, hs, e); out.Result != capacity.Busy || out.Waiting != 4 {
		t.Fatalf("fifth with 4 waiting: %+v", out)
	}
	e = entry("q5", 21, "a")
	e.QueueMax = 4
	if out := enter(t, s, hs, e); out.Result != capacity.Full {
		t.Fatalf("beyond the queue bound: %+v", out)
	}
	if st := stats(t, s, hs); st.Waiting[0] != 4 {
		t.Fatalf("refused entries were queued: %+v", st)
	}
}

func testLeaveHandsOn(t *testing.T, h Harness) {
	s := h.New(t)
	hs := hosts("a", 1)
	enter(t, s, hs, entry("holder", 0, "a"))
	enter(t, s, hs, entry("w", 1, "a"))
	out := leave(t, s, hs, "holder")
	if len(out.Woken) != 1 || out.Woken[0] != (capacity.Grant{ID: "w", Host: "a"}) || out.Waiting != 0 {
		t.Fatalf("leave: %+v", out)
	}
	// The waiter may also learn it by polling, once.
	wantResult(t, poll(t, s, hs, "w"), capacity.Granted, "a")
	if out := poll(t, s, hs, "w"); out.Result == capacity.Granted {
		t.Fatal("a grant was reported twice")
	}
	if st := stats(t, s, hs); st.InFlight["a"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	leave(t, s, hs, "w")
	leave(t, s, hs, "never-entered")
	if st := stats(t, s, hs); st.InFlight["a"] != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func testLeaveQueued(t *testing.T, h Harness) {
	s := h.New(t)
	hs := hosts("a", 1)
	enter(t, s, hs, entry("holder", 0, "a"))
	enter(t, s, hs, entry("w1", 1, "a"))
	enter(t, s, hs, entry("w2", 2, "a"))
	if out := leave(t, s, hs, "w1"); len(out.Woken) != 0 || out.Waiting != 1 {
		t.Fatalf("leaving a place: %+v", out)
	}
	wantResult(t, poll(t, s, hs, "w1"), capacity.Gone, "")
	out := leave(t, s, hs, "holder")
	if len(out.Woken) != 1 || out.Woken[0].ID != "w2" {
		t.Fatalf("woken %+v", out.Woken)
	}
}

// A gateway that dies stops renewing: its slot comes back after the lease.
func testExpiredSlot(t *testing.T, h Harness) {
	dead, alive := h.New(t), h.New(t)
	hs := hosts("a", 1)
	enter(t, dead, hs, entry("dead", 0, "a"))
	wantResult(t, enter(t, alive, hs, entry("w", 1, "a")), capacity.Queued, "")
	// The waiter keeps polling (renewing its place) while the dead slot's
	// lease runs.
	step := h.WaitLease / 2
	for waited := step; waited < h.SlotLease; waited += step {
		h.Clock.Advance(step)
		wantResult(t, poll(t, alive, hs, "w"), capacity.Queued, "")
	}
	h.Clock.Advance(step)
	wantResult(t, poll(t, alive, hs, "w"), capacity.Granted, "a")
	lost, err := dead.Renew(ctx, hs, []capacity.Held{{ID: "dead", Host: "a"}})
	if err != nil || !slices.Equal(lost, []string{"dead"}) {
		t.Fatalf("renewing an expired slot: lost %v, %v", lost, err)
	}
}

// A dead gateway's waiters stop polling: their places go after the lease
// and stop counting as waiting.
func testExpiredPlace(t *testing.T, h Harness) {
	dead, alive := h.New(t), h.New(t)
	hs := hosts("a", 1)
	enter(t, alive, hs, entry("holder", 0, "a"))
	enter(t, dead, hs, entry("d1", 1, "a"))
	enter(t, dead, hs, entry("d2", 2, "a"))
	wantResult(t, enter(t, alive, hs, entry("w", 3, "a")), capacity.Queued, "")
	for range 3 {
		h.Clock.Advance(h.WaitLease / 2)
		wantResult(t, poll(t, alive, hs, "w"), capacity.Queued, "")
	}
	if st := stats(t, alive, hs); st.Waiting[0] != 1 {
		t.Fatalf("dead places still counted: %+v", st)
	}
	out := leave(t, alive, hs, "holder")
	if len(out.Woken) != 1 || out.Woken[0].ID != "w" {
		t.Fatalf("woken %+v", out.Woken)
	}
}

func testRenew(t *testing.T, h Harness) {
	s := h.New(t)
	hs := hosts("a", 1, "b", 1)
	enter(t, s, hs, entry("x", 0, "a"))
	enter(t, s, hs, entry("y", 1, "b"))
	for range 4 {
		h.Clock.Advance(h.SlotLease / 2)
		lost, err := s.Renew(ctx, hs, []capacity.Held{{ID: "x", Host: "a"}, {ID: "y", Host: "b"}})
		if err != nil || len(lost) != 0 {
			t.Fatalf("renew: lost %v, %v", lost, err)
		}
	}
	wantResult(t, enter(t, s, hs, entry("z", 2, "a", "b")), capacity.Queued, "")
	lost, err := s.Renew(ctx, hs, []capacity.Held{{ID: "x", Host: "a"}, {ID: "nope", Host: "a"}, {ID: "y", Host: "unknown"}})
	if err != nil || !slices.Equal(lost, []string{"nope", "y"}) {
		t.Fatalf("lost %v, %v", lost, err)
	}
}

func testHostOut(t *testing.T, h Harness) {
	s := h.New(t)
	down := hosts("a", 0, "b", 1)
	wantResult(t, enter(t, s, down, entry("1", 1, "a", "b")), capacity.Granted, "b")
	wantResult(t, enter(t, s, down, entry("2", 2, "a", "b")), capacity.Queued, "")
	// a comes back: the next call serves the waiter there.
	up := hosts("a", 2, "b", 1)
	wantResult(t, poll(t, s, up, "2"), capacity.Granted, "a")
}

func testStats(t *testing.T, h Harness) {
	s := h.New(t)
	hs := hosts("a", 1, "b", 2)
	enter(t, s, hs, entry("1", 1, "a", "b"))
	enter(t, s, hs, entry("2", 2, "a", "b"))
	enter(t, s, hs, entry("3", 3, "a", "b"))
	for i, p := range []int{0, 0, 1, 2, 2, 2} {
		e := entry(fmt.Sprint("w", i), int64(10+i), "a")
		e.Priority = p
		enter(t, s, hs, e)
	}
	st := stats(t, s, hs)
	if st.InFlight["a"] != 1 || st.InFlight["b"] != 2 || st.Waiting[0] != 2 || st.Waiting[1] != 1 || st.Waiting[2] != 3 {
		t.Fatalf("stats %+v", st)
	}
}

// pool builds a Pool on a store of h; hostsFn is the hosts view.
func pool(t *testing.T, h Harness, hs []capacity.Host, mod func(*capacity.PoolConfig)) *capacity.Pool {
	cfg := capacity.PoolConfig{Store: h.New(t), Hosts: func() []capacity.Host { return hs }, PollInterval: 50 * time.Millisecond, RenewInterval: h.SlotLease / 3}
	if mod != nil {
		mod(&cfg)
	}
	p := capacity.NewPool(cfg)
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p
}

func acquire(t *testing.T, p *capacity.Pool, id string, prio int, wait time.Duration) *capacity.Slot {
	t.Helper()
	s, err := p.Acquire(ctx, capacity.Request{ID: id, Priority: prio, Hosts: []string{"a"}, Wait: wait})
	if err != nil {
		t.Fatalf("Acquire(%s): %v", id, err)
	}
	return s
}

// waitQueued waits until n requests wait in the store.
func waitQueued(t *testing.T, p *capacity.Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := p.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, c := range st.Waiting {
			total += c
		}
		if total == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting, want %d", total, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// served runs the queued acquisitions of ids (each in a goroutine, in
// order, each queued before the next starts) and returns the order in
// which they got the slot once holder is released; each releases at once.
func served(t *testing.T, p *capacity.Pool, holder *capacity.Slot, reqs []capacity.Request, between func(i int)) []string {
	t.Helper()
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			s, err := p.Acquire(ctx, r)
			if err != nil {
				t.Errorf("Acquire(%s): %v", r.ID, err)
				return
			}
			mu.Lock()
			order = append(order, r.ID)
			mu.Unlock()
			s.Release()
		})
		waitQueued(t, p, i+1)
		if between != nil {
			between(i)
		}
	}
	holder.Release()
	wg.Wait()
	return order
}

// Ranks come from the Pool's clock: a Basic request that waited more than
// two aging steps goes before an Enterprise request that just arrived; one
// that waited less does not.
func testPoolAging(t *testing.T, h Harness) {
	clock := NewClock()
	const aging = time.Second
	p := pool(t, h, hosts("a", 1), func(c *capacity.PoolConfig) { c.Now = clock.Now; c.Aging = aging })
	req := func(id string, prio int) capacity.Request {
		return capacity.Request{ID: id, Priority: prio, Hosts: []string{"a"}, Wait: 10 * time.Second}
	}
	holder := acquire(t, p, "h1", 0, time.Second)
	order := served(t, p, holder, []capacity.Request{req("basic-old", 0), req("ent-new", 2)}, func(int) { clock.Advance(2*aging + time.Millisecond) })
	if !slices.Equal(order, []string{"basic-old", "ent-new"}) {
		t.Fatalf("order %v: the Basic request starved", order)
	}
	holder = acquire(t, p, "h2", 0, time.Second)
	order = served(t, p, holder, []capacity.Request{req("basic-young", 0), req("ent-late", 2)}, func(int) { clock.Advance(2*aging - time.Millisecond) })
	if !slices.Equal(order, []string{"ent-late", "basic-young"}) {
		t.Fatalf("order %v: Enterprise priority lost", order)
	}
}

// An Enterprise request arriving behind 10 waiting Basic requests, queued
// through other replicas, is served first; the Basic ones in arrival order.
func testPoolEnterpriseFirst(t *testing.T, h Harness) {
	hs := hosts("a", 1)
	pools := []*capacity.Pool{pool(t, h, hs, nil), pool(t, h, hs, nil), pool(t, h, hs, nil)}
	holder := acquire(t, pools[0], "holder", 0, time.Second)
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	start := func(i int, id string, prio int) {
		p := pools[i%3]
		wg.Go(func() {
			s, err := p.Acquire(ctx, capacity.Request{ID: id, Priority: prio, Hosts: []string{"a"}, Wait: 20 * time.Second})
			if err != nil {
				t.Errorf("%s: %v", id, err)
				return
			}
			mu.Lock()
			order = append(order, id)
			mu.Unlock()
			s.Release()
		})
	}
	for i := range 10 {
		start(i, fmt.Sprintf("basic-%02d", i), 0)
		waitQueued(t, pools[0], i+1)
		time.Sleep(time.Millisecond) // distinct arrival times
	}
	start(10, "enterprise", 2)
	waitQueued(t, pools[0], 11)
	holder.Release()
	wg.Wait()
	want := []string{"enterprise"}
	for i := range 10 {
		want = append(want, fmt.Sprintf("basic-%02d", i))
	}
	if !slices.Equal(order, want) {
		t.Fatalf("served %v, want %v", order, want)
	}
}

func testPoolTimeout(t *testing.T, h Harness) {
	p := pool(t, h, hosts("a", 1), nil)
	holder := acquire(t, p, "holder", 0, time.Second)
	defer holder.Release()
	begin := time.Now()
	_, err := p.Acquire(ctx, capacity.Request{ID: "late", Hosts: []string{"a"}, Wait: 150 * time.Millisecond})
	if !errors.Is(err, capacity.ErrTimeout) || time.Since(begin) < 150*time.Millisecond {
		t.Fatalf("after %s: %v, want ErrTimeout after the wait", time.Since(begin), err)
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { waitQueued(t, p, 1); cancel() }()
	if _, err := p.Acquire(cctx, capacity.Request{ID: "cancelled", Hosts: []string{"a"}, Wait: 10 * time.Second}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	waitQueued(t, p, 0)
	if _, err := p.Acquire(ctx, capacity.Request{ID: "nohost", Hosts: []string{"zzz"}, Wait: time.Second}); !errors.Is(err, capacity.ErrNoHost) {
		t.Fatalf("no host: %v", err)
	}
	_, err = p.Acquire(ctx, capacity.Request{ID: "busy", Hosts: []string{"a"}, Mode: capacity.NoWait})
	if !capacity.IsBusy(err) {
		t.Fatalf("no-wait: %v", err)
	}
}

// Three replicas, 90 requests for 3 slots on two hosts: all are served and
// no more than each host's slots ever run at once.
func testPoolConcurrent(t *testing.T, h Harness) {
	hs := hosts("a", 2, "b", 1)
	pools := []*capacity.Pool{pool(t, h, hs, nil), pool(t, h, hs, nil), pool(t, h, hs, nil)}
	var inA, inB, maxA, maxB atomic.Int64
	track := func(cur, mx *atomic.Int64) func() {
		n := cur.Add(1)
		for {
			m := mx.Load()
			if n <= m || mx.CompareAndSwap(m, n) {
				break
			}
		}
		return func() { cur.Add(-1) }
	}
	var wg sync.WaitGroup
	for i := range 90 {
		wg.Go(func() {
			p := pools[i%3]
			s, err := p.Acquire(ctx, capacity.Request{ID: fmt.Sprint("r", i), Priority: i % 3, Hosts: []string{"a", "b"}, Wait: 20 * time.Second})
			if err != nil {
				t.Error(err)
				return
			}
			var done func()
			if s.Host == "a" {
				done = track(&inA, &maxA)
			} else {
				done = track(&inB, &maxB)
			}
			time.Sleep(time.Millisecond)
			done()
			s.Release()
		})
	}
	wg.Wait()
	if maxA.Load() > 2 || maxB.Load() > 1 {
		t.Fatalf("over capacity: a ran %d at once (2 slots), b %d (1 slot)", maxA.Load(), maxB.Load())
	}
	st, err := pools[0].Stats(ctx)
	if err != nil || st.InFlight["a"] != 0 || st.InFlight["b"] != 0 || len(st.Waiting) != 0 {
		t.Fatalf("left over: %+v %v", st, err)
	}
}

// The wake-up latency of a queued request when a slot frees, in the same
// replica and in another one; polling is slowed to 1 s so that only the
// wake-up path can be this fast.
func testPoolWakeLatency(t *testing.T, h Harness) {
	hs := hosts("a", 1)
	slow := func(c *capacity.PoolConfig) { c.PollInterval = time.Second }
	a, b := pool(t, h, hs, slow), pool(t, h, hs, slow)
	for _, tc := range []struct {
		name   string
		waiter *capacity.Pool
	}{{"same replica", a}, {"other replica", b}} {
		const n = 50
		lat := make([]time.Duration, 0, n)
		for i := range n {
			holder := acquire(t, a, fmt.Sprint("holder", i), 0, time.Second)
			got := make(chan time.Time, 1)
			go func() {
				s, err := tc.waiter.Acquire(ctx, capacity.Request{ID: fmt.Sprint("w", i), Hosts: []string{"a"}, Wait: 5 * time.Second})
				got <- time.Now()
				if err == nil {
					s.Release()
				}
			}()
			waitQueued(t, a, 1)
			released := time.Now()
			holder.Release()
			lat = append(lat, (<-got).Sub(released))
			waitQueued(t, a, 0)
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		p50, p99 := lat[n/2], lat[n*99/100]
		t.Logf("wake-up latency, %s: p50 %s, p99 %s, max %s", tc.name, p50, p99, lat[n-1])
		if p99 > 200*time.Millisecond {
			t.Fatalf("wake-up p99 %s: the waiter was found by polling, not woken", p99)
		}
	}
}
