// Package ratelimittest is the conformance suite every ratelimit.Limiter runs
// (docs/architecture.md "Two ways to run"): one definition of correct, so the
// in-process and the Redis limiter cannot drift apart and the gateway behaves
// the same in both modes.
//
// Most subtests use hour-long limits so that nothing refills while they run,
// however slow the machine: their numbers are exact. The two that need time
// to pass (RefillsOverTime, NoDoubleBurstAtWindowEdge) use windows of a few
// hundred milliseconds and wait for what the limiter itself reports
// (RetryAfter, ResetAfter), polling with deadlines, so implementations run
// the suite on their real clock (Redis's is the server's) and the whole suite
// takes about a second. Exact clock arithmetic is tested by ratelimitmem
// with an injected clock.
package ratelimittest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/ratelimit"
)

// RunConformance runs every subtest against limiters from newLimiter, which
// must return a fresh limiter per call (keys of earlier subtests unseen).
func RunConformance(t *testing.T, newLimiter func(t *testing.T) ratelimit.Limiter) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l ratelimit.Limiter)
	}{
		{"AllowsBurstUpToLimit", testAllowsBurstUpToLimit},
		{"RefusesOverLimitWithRetryAfter", testRefusesOverLimitWithRetryAfter},
		{"RemainingCountsDown", testRemainingCountsDown},
		{"PeekCountsNothing", testPeekCountsNothing},
		{"AllowNIsAllOrNothing", testAllowNIsAllOrNothing},
		{"InvalidLimitIsAnError", testInvalidLimitIsAnError},
		{"KeysAreIndependent", testKeysAreIndependent},
		{"LimitChangeAppliesImmediately", testLimitChangeAppliesImmediately},
		{"ExactUnderConcurrency", testExactUnderConcurrency},
		{"Reset", testReset},
		{"RefillsOverTime", testRefillsOverTime},
		{"NoDoubleBurstAtWindowEdge", testNoDoubleBurstAtWindowEdge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newLimiter(t)) })
	}
}

// perHour is a limit that refills too slowly to matter within a test.
func perHour(n int) ratelimit.Limit { return ratelimit.Limit{Requests: n, Per: time.Hour} }

func allow(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), key, lim)
	if err != nil {
		t.Fatalf("Allow(%q, %+v): %v", key, lim, err)
	}
	if d.Limit != lim.Requests {
		t.Errorf("Allow(%q): Limit = %d, want %d", key, d.Limit, lim.Requests)
	}
	return d
}

func peek(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	d, err := l.Peek(context.Background(), key, lim)
	if err != nil {
		t.Fatalf("Peek(%q, %+v): %v", key, lim, err)
	}
	return d
}

// spend takes n requests, each of which must be admitted.
func spend(t *testing.T, l ratelimit.Limiter, key string, lim ratelimit.Limit, n int) {
	t.Helper()
	for i := range n {
		if d := allow(t, l, key, lim); !d.Allowed {
			t.Fatalf("request %d of %d refused: %+v", i+1, n, d)
		}
	}
}

// expectRefused checks a refusal and that RetryAfter is within one emission
// interval (a refused single request waits for at most one slot to refill).
func expectRefused(t *testing.T, d ratelimit.Decision, lim ratelimit.Limit) {
	t.Helper()
	iv := lim.Per / time.Duration(lim.Requests)
	if d.Allowed || d.Remaining != 0 {
		t.Fatalf("decision = %+v, want refused with Remaining 0", d)
	}
	if d.RetryAfter <= 0 || d.RetryAfter > iv {
		t.Errorf("RetryAfter = %s, want in (0, %s]", d.RetryAfter, iv)
	}
	if d.ResetAfter < d.RetryAfter || d.ResetAfter > lim.Per {
		t.Errorf("ResetAfter = %s, want in [RetryAfter %s, %s]", d.ResetAfter, d.RetryAfter, lim.Per)
	}
}

func testAllowsBurstUpToLimit(t *testing.T, l ratelimit.Limiter) {
	spend(t, l, "acct-1", perHour(10), 10)
}

func testRefusesOverLimitWithRetryAfter(t *testing.T, l ratelimit.Limiter) {
	lim := perHour(5)
	spend(t, l, "acct-1", lim, 5)
	for range 3 { // refusals are not counted: each one looks the same
		expectRefused(t, allow(t, l, "acct-1", lim), lim)
	}
}

func testRemainingCountsDown(t *testing.T, l ratelimit.Limiter) {
	lim := perHour(3)
	for want := 2; want >= 0; want-- {
		d := allow(t, l, "acct-1", lim)
		if !d.Allowed || d.Remaining != want {
			t.Fatalf("decision = %+v, want allowed with Remaining %d", d, want)
		}
		if d.RetryAfter != 0 || d.ResetAfter <= 0 || d.ResetAfter > lim.Per {
			t.Errorf("decision = %+v, want RetryAfter 0 and ResetAfter in (0, %s]", d, lim.Per)
		}
	}
	expectRefused(t, allow(t, l, "acct-1", lim), lim)
}

func testPeekCountsNothing(t *testing.T, l ratelimit.Limiter) {
	lim := perHour(2)
	for range 2 {
		if d := peek(t, l, "login:a@example.com", lim); d != (ratelimit.Decision{Allowed: true, Limit: 2, Remaining: 2}) {
			t.Fatalf("Peek on a fresh key = %+v, want allowed, Remaining 2, no waits", d)
		}
	}
	spend(t, l, "login:a@example.com", lim, 1)
	if d := peek(t, l, "login:a@example.com", lim); !d.Allowed || d.Remaining != 1 {
		t.Fatalf("Peek after one = %+v, want allowed with Remaining 1", d)
	}
	spend(t, l, "login:a@example.com", lim, 1)
	expectRefused(t, peek(t, l, "login:a@example.com", lim), lim)
}

func testAllowNIsAllOrNothing(t *testing.T, l ratelimit.Limiter) {
	ctx, lim := context.Background(), perHour(5)
	take := func(n int) ratelimit.Decision {
		t.Helper()
		d, err := l.AllowN(ctx, "acct-1", lim, n)
		if err != nil {
			t.Fatalf("AllowN(%d): %v", n, err)
		}
		return d
	}
	if d := take(3); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("AllowN(3) = %+v, want allowed with Remaining 2", d)
	}
	d := take(3)
	if iv := lim.Per / 5; d.Allowed || d.Remaining != 2 || d.RetryAfter <= 0 || d.RetryAfter > iv {
		t.Fatalf("AllowN(3) with 2 left = %+v, want refused, Remaining 2, RetryAfter in (0, %s]", d, iv)
	}
	if d := take(2); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("AllowN(2) = %+v, want allowed with Remaining 0", d)
	}
}

func testInvalidLimitIsAnError(t *testing.T, l ratelimit.Limiter) {
	ctx := context.Background()
	calls := map[string]func() error{
		"zero requests": func() error { _, err := l.Allow(ctx, "k", ratelimit.Limit{Per: time.Minute}); return err },
		"zero period":   func() error { _, err := l.Allow(ctx, "k", ratelimit.Limit{Requests: 5}); return err },
		"sub-µs rate": func() error {
			_, err := l.Allow(ctx, "k", ratelimit.Limit{Requests: 1e6, Per: time.Millisecond})
			return err
		},
		"n = 0":        func() error { _, err := l.AllowN(ctx, "k", perHour(5), 0); return err },
		"n > Requests": func() error { _, err := l.AllowN(ctx, "k", perHour(5), 6); return err },
		"peek invalid": func() error { _, err := l.Peek(ctx, "k", ratelimit.Limit{}); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ratelimit.ErrInvalidLimit) {
			t.Errorf("%s: err = %v, want ErrInvalidLimit", name, err)
		}
	}
	spend(t, l, "k", perHour(1), 1) // nothing above was counted
}

func testKeysAreIndependent(t *testing.T, l ratelimit.Limiter) {
	lim := perHour(2)
	spend(t, l, "acct-1", lim, 2)
	expectRefused(t, allow(t, l, "acct-1", lim), lim)
	for _, key := range []string{"acct-2", "acct-10", "login:ip:10.0.0.1"} {
		if d := allow(t, l, key, lim); !d.Allowed || d.Remaining != 1 {
			t.Errorf("%s after acct-1 is spent: %+v, want allowed with Remaining 1", key, d)
		}
	}
}

// testLimitChangeAppliesImmediately: the limit comes with each call, and the
// requests already used carry over as a count (see package ratelimit).
func testLimitChangeAppliesImmediately(t *testing.T, l ratelimit.Limiter) {
	spend(t, l, "acct-1", perHour(10), 5)
	if d := allow(t, l, "acct-1", perHour(20)); !d.Allowed || d.Remaining != 14 {
		t.Fatalf("after an upgrade to 20 with 5 used: %+v, want allowed with Remaining 14", d)
	}
	// A downgrade below what was used refuses at once, for at most one
	// interval of the new limit: the 6 used count as 3, the whole new limit.
	expectRefused(t, allow(t, l, "acct-1", perHour(3)), perHour(3))
	if d := allow(t, l, "acct-1", perHour(20)); !d.Allowed || d.Remaining != 16 {
		t.Fatalf("back at 20 with 3 counted: %+v, want allowed with Remaining 16", d)
	}
}

func testExactUnderConcurrency(t *testing.T, l ratelimit.Limiter) {
	// 60 per hour rather than per minute: one slot refills every 60 s, which
	// no test run gets near, so "exactly 60" holds on any machine.
	lim := perHour(60)
	if got := ConcurrentAllow(t, []ratelimit.Limiter{l}, "acct-1", lim, 300); got != 60 {
		t.Fatalf("admitted %d of 300 concurrent requests, want exactly 60", got)
	}
}

func testReset(t *testing.T, l ratelimit.Limiter) {
	ctx, lim := context.Background(), perHour(3)
	spend(t, l, "login:a@example.com", lim, 3)
	spend(t, l, "login:b@example.com", lim, 3)
	if err := l.Reset(ctx, "login:a@example.com"); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	if d := allow(t, l, "login:a@example.com", lim); !d.Allowed || d.Remaining != 2 {
		t.Fatalf("after Reset: %+v, want allowed with Remaining 2", d)
	}
	expectRefused(t, allow(t, l, "login:b@example.com", lim), lim)
	if err := l.Reset(ctx, "never-seen"); err != nil {
		t.Fatalf("Reset of an unknown key: %v", err)
	}
}

// ConcurrentAllow fires calls concurrent Allow calls for key, which must be
// fresh, spread round robin over limiters (several limiters sharing storage emulate gateway
// replicas), and returns how many were admitted. It fails t unless the
// admitted requests saw every Remaining from Requests-1 down to 0 once,
// which is what one-at-a-time decisions produce.
func ConcurrentAllow(t *testing.T, limiters []ratelimit.Limiter, key string, lim ratelimit.Limit, calls int) int {
	t.Helper()
	var (
		admitted atomic.Int64
		mu       sync.Mutex
		seen     = map[int]int{}
		errs     = make(chan error, calls)
		start    = make(chan struct{})
		wg       sync.WaitGroup
	)
	for i := range calls {
		wg.Go(func() {
			<-start
			d, err := limiters[i%len(limiters)].Allow(context.Background(), key, lim)
			switch {
			case err != nil:
				errs <- err
			case d.Allowed:
				admitted.Add(1)
				mu.Lock()
				seen[d.Remaining]++
				mu.Unlock()
			case d.RetryAfter <= 0:
				errs <- fmt.Errorf("refused without RetryAfter: %+v", d)
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := int(admitted.Load()); n <= lim.Requests {
		for r := lim.Requests - n; r < lim.Requests; r++ {
			if seen[r] != 1 {
				t.Errorf("Remaining %d seen %d times, want once: %v", r, seen[r], seen)
				break
			}
		}
	}
	return int(admitted.Load())
}
