package capacityredis

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/pkg/testenv"
)

// countingScript is the script with its Redis calls counted.
var countingScript = testenv.CountingScript(scriptSrc)

// TestFastPathCalls pins the number of Redis calls of enter and leave with
// an empty queue and a free slot, the path of nearly every request: what
// lua.go promises (enter n + 3 with n eligible hosts up, leave n + 2, or
// n + 1 for an id that entered directly).
func TestFastPathCalls(t *testing.T) {
	env := testenv.Redis(t)
	s, err := New(env.Client, Config{Prefix: env.Prefix, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func(op string, hosts []capacity.Host, extra ...any) (result int64, calls int64) {
		t.Helper()
		keys, args := s.call(op, hosts, extra...)
		r, err := countingScript.Run(ctx, env.Client, keys, args...).Slice()
		if err != nil || len(r) < 5 {
			t.Fatalf("%s: %v %v", op, r, err)
		}
		return r[0].(int64), r[len(r)-1].(int64)
	}
	enter := func(hosts []capacity.Host, id string, eligible ...string) (int64, int64) {
		var list string
		for i, h := range eligible {
			if i > 0 {
				list += "\n"
			}
			list += h
		}
		return run("enter", hosts, id, 0, 0, list, "queue", 0, 0)
	}
	one := []capacity.Host{{ID: "a", Slots: 4}}
	two := []capacity.Host{{ID: "a", Slots: 4}, {ID: "b", Slots: 4}}
	for _, tc := range []struct {
		name      string
		do        func() (int64, int64)
		res, want int64
	}{
		{"enter, one host", func() (int64, int64) { return enter(one, "e1", "a") }, 1, 4},
		{"leave, one host", func() (int64, int64) { return run("leave", one, "e1") }, 6, 3},
		{"enter, two hosts", func() (int64, int64) { return enter(two, "e2", "a", "b") }, 1, 5},
		{"enter, two hosts, one eligible", func() (int64, int64) { return enter(two, "e3", "b") }, 1, 4},
		{"enter, two hosts, one out", func() (int64, int64) {
			return enter([]capacity.Host{{ID: "a", Slots: 0}, {ID: "b", Slots: 4}}, "e4", "a", "b")
		}, 1, 4},
		{"leave, two hosts", func() (int64, int64) { return run("leave", two, "e2") }, 6, 4},
		{"leave, one host, entered directly", func() (int64, int64) { return run("leave", one, "e3", "direct") }, 6, 2},
		{"leave, two hosts, entered directly", func() (int64, int64) { return run("leave", two, "e4", "direct") }, 6, 3},
	} {
		res, calls := tc.do()
		if res != tc.res || calls != tc.want {
			t.Errorf("%s: result %d with %d Redis calls, want %d with %d", tc.name, res, calls, tc.res, tc.want)
		}
	}
}
