package capacityredis_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/capacity/capacityredis"
	"github.com/resayil/portal/gateway/internal/capacity/capacitytest"
	"github.com/resayil/portal/pkg/testenv"
)

var ctx = context.Background()

// lazyEnv is a store on a manual clock and a second one on the same keys
// (another gateway replica, the "dead" one).
func lazyEnv(t *testing.T) (alive, dead *capacityredis.Store, clock *capacitytest.Clock, env *testenv.RedisEnv) {
	t.Helper()
	env = testenv.Redis(t)
	clock = capacitytest.NewClock()
	mk := func() *capacityredis.Store {
		s, err := capacityredis.New(env.Client, capacityredis.Config{Prefix: env.Prefix, SlotLease: 30 * time.Second, WaitLease: 5 * time.Second, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return mk(), mk(), clock, env
}

func mustEnter(t *testing.T, s *capacityredis.Store, hs []capacity.Host, e capacity.Entry) capacity.Outcome {
	t.Helper()
	out, err := s.Enter(ctx, hs, e)
	if err != nil {
		t.Fatalf("Enter(%s): %v", e.ID, err)
	}
	return out
}

// Enter and leave do not drop expired leases (poll, renew and stats do):
// an expired lease must still never count as a used slot, for the free
// check and for least-loaded picking, on the empty-queue fast path.
func TestExpiredLeasesNeverCount(t *testing.T) {
	alive, dead, clock, env := lazyEnv(t)
	hs := []capacity.Host{{ID: "a", Slots: 2}, {ID: "b", Slots: 2}}
	onA := capacity.Entry{Hosts: []string{"a"}}
	// The dead gateway fills a, then stops renewing.
	for _, id := range []string{"d1", "d2"} {
		e := onA
		e.ID = id
		if out := mustEnter(t, dead, hs, e); out.Result != capacity.Granted || out.Host != "a" {
			t.Fatalf("dead %s: %+v", id, out)
		}
	}
	clock.Advance(15 * time.Second)
	if out := mustEnter(t, alive, hs, capacity.Entry{ID: "l1", Hosts: []string{"b"}}); out.Host != "b" {
		t.Fatalf("l1: %+v", out)
	}
	clock.Advance(15*time.Second + time.Millisecond)
	// d1 and d2 ran out, l1 lives: a has 0 of 2 used, b 1 of 2, so a is
	// the least loaded although b comes first.
	both := []string{"b", "a"}
	out := mustEnter(t, alive, hs, capacity.Entry{ID: "n1", Hosts: both, Mode: capacity.NoWait})
	if out.Result != capacity.Granted || out.Host != "a" || out.Waiting != 0 {
		t.Fatalf("n1: %+v, want granted on a (expired leases counted?)", out)
	}
	// Now 1 of 2 each: the first among equals.
	if out := mustEnter(t, alive, hs, capacity.Entry{ID: "n2", Hosts: both, Mode: capacity.NoWait}); out.Host != "b" {
		t.Fatalf("n2: %+v", out)
	}
	// Only a: its last slot, then busy.
	if out := mustEnter(t, alive, hs, capacity.Entry{ID: "n3", Hosts: []string{"a"}, Mode: capacity.NoWait}); out.Result != capacity.Granted || out.Host != "a" {
		t.Fatalf("n3 on a with both dead leases expired: %+v", out)
	}
	if out := mustEnter(t, alive, hs, capacity.Entry{ID: "n4", Hosts: []string{"a"}, Mode: capacity.NoWait}); out.Result != capacity.Busy {
		t.Fatalf("n4 beyond a's slots: %+v", out)
	}
	// Leaving an expired lease frees nothing that counted.
	if _, err := alive.Leave(ctx, hs, "d1"); err != nil {
		t.Fatal(err)
	}
	if out := mustEnter(t, alive, hs, capacity.Entry{ID: "n5", Hosts: []string{"a"}, Mode: capacity.NoWait}); out.Result != capacity.Busy {
		t.Fatalf("n5 after leaving an expired lease: %+v", out)
	}
	// The dead gateway's renewal reports its slot lost.
	lost, err := dead.Renew(ctx, hs, []capacity.Held{{ID: "d2", Host: "a"}})
	if err != nil || !slices.Equal(lost, []string{"d2"}) {
		t.Fatalf("renew of an expired lease: lost %v, %v", lost, err)
	}
	// Stats count live leases, and drop the expired ones for good.
	st, err := alive.Stats(ctx, hs)
	if err != nil || st.InFlight["a"] != 2 || st.InFlight["b"] != 2 {
		t.Fatalf("stats %+v %v", st, err)
	}
	if ids := env.Client.ZRange(ctx, alive.SlotsKey("a"), 0, -1).Val(); !slices.Equal(ids, []string{"n1", "n3"}) {
		t.Fatalf("slots of a after stats: %v", ids)
	}
}

// An id whose slot lease ran out may enter again (ids are unique among
// live entries only); the expired lease that enter left behind must not
// take the new grant with it when poll drops it.
func TestReusedIDKeepsItsGrant(t *testing.T) {
	s, _, clock, _ := lazyEnv(t)
	hs := []capacity.Host{{ID: "a", Slots: 1}, {ID: "b", Slots: 1}}
	if out := mustEnter(t, s, hs, capacity.Entry{ID: "x", Hosts: []string{"a"}}); out.Host != "a" {
		t.Fatalf("x: %+v", out)
	}
	clock.Advance(31 * time.Second)
	if out := mustEnter(t, s, hs, capacity.Entry{ID: "h", Hosts: []string{"b"}}); out.Host != "b" {
		t.Fatalf("h: %+v", out)
	}
	if out := mustEnter(t, s, hs, capacity.Entry{ID: "x", Rank: 1, Hosts: []string{"b"}}); out.Result != capacity.Queued {
		t.Fatalf("x again: %+v", out)
	}
	out, err := s.Leave(ctx, hs, "h")
	if err != nil || len(out.Woken) != 1 || out.Woken[0] != (capacity.Grant{ID: "x", Host: "b"}) {
		t.Fatalf("leave h: %+v %v", out, err)
	}
	out, err = s.Poll(ctx, hs, "x")
	if err != nil || out.Result != capacity.Granted || out.Host != "b" {
		t.Fatalf("poll x: %+v %v, want granted on b", out, err)
	}
	st, err := s.Stats(ctx, hs)
	if err != nil || st.InFlight["a"] != 0 || st.InFlight["b"] != 1 {
		t.Fatalf("stats %+v %v", st, err)
	}
}

// The fast path only refreshes the key it wrote, and a hand-over in leave
// (which may recreate a slots key its ZREM emptied) gives it a TTL.
func TestHandOverKeysHaveTTL(t *testing.T) {
	s, _, _, env := lazyEnv(t)
	hs := []capacity.Host{{ID: "a", Slots: 1}}
	mustEnter(t, s, hs, capacity.Entry{ID: "holder", Hosts: []string{"a"}})
	mustEnter(t, s, hs, capacity.Entry{ID: "w", Rank: 1, Hosts: []string{"a"}})
	if out, err := s.Leave(ctx, hs, "holder"); err != nil || len(out.Woken) != 1 {
		t.Fatalf("leave: %+v %v", out, err)
	}
	keys := env.Client.Keys(ctx, env.Prefix+"*").Val()
	if !slices.Contains(keys, s.SlotsKey("a")) {
		t.Fatalf("keys %v", keys)
	}
	for _, k := range keys {
		if ttl := env.Client.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %s has no TTL after a hand-over", k)
		}
	}
}
