package ratelimitredis

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/testenv"
)

// TestCalls pins the Redis calls the script makes per request (inside a
// benchmark run each costs Redis several microseconds): TIME, GET and one
// SET when a request is admitted; TIME and GET when one is refused or
// peeked at.
func TestCalls(t *testing.T) {
	ctx := context.Background()
	env := testenv.Redis(t)
	counting := testenv.CountingScript(gcraSrc)
	key := env.Prefix + "calls"
	iv := (time.Minute / 2).Microseconds() // 2 a minute
	for _, tc := range []struct {
		name           string
		n              int
		allowed, calls int64
	}{
		{"peek at a fresh key", 0, 1, 2},
		{"admit", 1, 1, 3},
		{"admit the last", 1, 1, 3},
		{"refuse", 1, 0, 2},
		{"peek when full", 0, 0, 2},
	} {
		r, err := counting.Run(ctx, env.Client, []string{key}, iv, 2, tc.n).Int64Slice()
		if err != nil {
			t.Fatal(err)
		}
		if r[0] != tc.allowed || r[len(r)-1] != tc.calls {
			t.Errorf("%s: allowed %d with %d Redis calls, want %d with %d", tc.name, r[0], r[len(r)-1], tc.allowed, tc.calls)
		}
	}
}
