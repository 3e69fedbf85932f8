package capacityredis

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/pkg/testenv"
)

// generalScript is the script without its fast paths.
var generalScript = redis.NewScript(generalSrc)

// TestFastPathsMatchTheGeneralCode runs random operations twice, on two
// sets of keys: through the script (fast paths first) and through the
// general code alone. Every reply and, after every step, every key must be
// the same: the fast paths are an optimisation of the general code, never
// a second behaviour. The operations mix hosts that are out, entries
// eligible for some hosts only, ties, full hosts, queued entries of every
// mode, polls and leases running out, so that both the fast paths and the
// fall-throughs are taken.
func TestFastPathsMatchTheGeneralCode(t *testing.T) {
	env := testenv.Redis(t)
	ctx := context.Background()
	now := time.UnixMilli(1_800_000_000_000)
	clock := func() time.Time { return now }
	mk := func(prefix string) *Store {
		s, err := New(env.Client, Config{Prefix: env.Prefix + prefix, SlotLease: 30 * time.Second, WaitLease: 5 * time.Second, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	fast, general := mk("fast:"), mk("general:")
	hostIDs := []string{"http://a", "http://b", "http://c"}
	rng := rand.New(rand.NewPCG(1, 2))
	var live []string // ids that entered and have not left
	fastCalls, queuedCalls := 0, 0
	for step := 0; step < 600; step++ {
		// The view of the hosts changes now and then (a host goes out).
		hosts := make([]capacity.Host, 0, 3)
		for _, h := range hostIDs[:1+rng.IntN(3)] {
			hosts = append(hosts, capacity.Host{ID: h, Slots: rng.IntN(4)})
		}
		var op string
		var extra []any
		switch r := rng.IntN(10); {
		case r < 5:
			op = "enter"
			id := fmt.Sprintf("e%d", step)
			live = append(live, id)
			var eligible []string
			for _, h := range hostIDs {
				if rng.IntN(3) > 0 {
					eligible = append(eligible, h)
				}
			}
			mode := []capacity.Mode{capacity.Queue, capacity.NoWait, capacity.QueueUpTo}[rng.IntN(3)]
			extra = enterArgs(capacity.Entry{ID: id, Priority: rng.IntN(3), Rank: int64(step), Hosts: eligible,
				Mode: mode, MaxWaiting: rng.IntN(3), QueueMax: rng.IntN(2) * 6})
		case r < 9 && len(live) > 0:
			op = "leave"
			i := rng.IntN(len(live))
			extra = []any{live[i]}
			live = append(live[:i], live[i+1:]...)
		case len(live) > 0:
			op = "poll"
			extra = []any{live[rng.IntN(len(live))]}
		default:
			continue
		}
		if rng.IntN(8) == 0 {
			now = now.Add(time.Duration(rng.IntN(40)) * time.Second) // leases run out
		}
		fk, fa := fast.call(op, hosts, extra...)
		gk, ga := general.call(op, hosts, extra...)
		qlen := env.Client.ZCard(ctx, fk[0]).Val()
		fr, ferr := script.Run(ctx, env.Client, fk, fa...).Slice()
		gr, gerr := generalScript.Run(ctx, env.Client, gk, ga...).Slice()
		if ferr != nil || gerr != nil {
			t.Fatalf("step %d %s %v: errors %v / %v", step, op, extra, ferr, gerr)
		}
		if !reflect.DeepEqual(fr, gr) {
			t.Fatalf("step %d %s %v on %v: reply %v, general code %v", step, op, extra, hosts, fr, gr)
		}
		if op == "leave" || op == "enter" {
			if qlen == 0 {
				fastCalls++
			} else {
				queuedCalls++
			}
		}
		f, fttl := dump(ctx, t, env.Client, fast, hostIDs)
		g, gttl := dump(ctx, t, env.Client, general, hostIDs)
		if f != g {
			t.Fatalf("step %d %s %v: keys differ\nscript:\n%s\ngeneral code:\n%s", step, op, extra, f, g)
		}
		for k, ft := range fttl {
			// The two runs are a few milliseconds apart.
			if d := ft - gttl[k]; d < -250*time.Millisecond || d > 250*time.Millisecond {
				t.Fatalf("step %d %s %v: key %s has TTL %s, with the general code %s", step, op, extra, k, ft, gttl[k])
			}
		}
	}
	if fastCalls < 100 || queuedCalls < 100 {
		t.Fatalf("%d enters and leaves found the queue empty and %d did not: the test must exercise both", fastCalls, queuedCalls)
	}
}

// dump renders every key of s (without its prefix) with its content, and
// returns the keys' TTLs.
func dump(ctx context.Context, t *testing.T, c *redis.Client, s *Store, hostIDs []string) (string, map[string]time.Duration) {
	t.Helper()
	var b strings.Builder
	ttls := map[string]time.Duration{}
	keys := append(s.keys[:], make([]string, 0, len(hostIDs))...)
	for _, h := range hostIDs {
		keys = append(keys, s.SlotsKey(h))
	}
	for _, k := range keys {
		name := strings.TrimPrefix(k, s.base)
		var v any
		switch c.Type(ctx, k).Val() {
		case "zset":
			v = c.ZRangeWithScores(ctx, k, 0, -1).Val()
		case "hash":
			v = c.HGetAll(ctx, k).Val()
		case "none":
			continue
		default:
			t.Fatalf("key %s of type %s", k, c.Type(ctx, k).Val())
		}
		fmt.Fprintf(&b, "%s %v\n", name, v)
		ttls[name] = c.PTTL(ctx, k).Val()
	}
	return b.String(), ttls
}
