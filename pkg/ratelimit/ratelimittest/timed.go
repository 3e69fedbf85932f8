package ratelimittest

import (
	"testing"
	"time"

	"github.com/resayil/portal/pkg/ratelimit"
)

// pollEvery is how often the timed subtests ask again; it is a polling
// interval, not a guess at how long anything takes.
const pollEvery = time.Millisecond

// testRefillsOverTime: a spent key gets one request back per emission
// interval, at the time RetryAfter announced, and is whole again after
// ResetAfter.
func testRefillsOverTime(t *testing.T, l ratelimit.Limiter) {
	lim := ratelimit.Limit{Requests: 5, Per: 500 * time.Millisecond} // one per 100 ms
	spend(t, l, "acct-1", lim, 5)
	refused := allow(t, l, "acct-1", lim)
	expectRefused(t, refused, lim)

	time.Sleep(refused.RetryAfter)
	d := pollUntil(t, 2*time.Second, func() (ratelimit.Decision, bool) {
		d := allow(t, l, "acct-1", lim)
		return d, d.Allowed
	})
	if d.ResetAfter <= 0 || d.ResetAfter > lim.Per {
		t.Fatalf("after the refill: %+v, want ResetAfter in (0, %s]", d, lim.Per)
	}

	time.Sleep(d.ResetAfter)
	pollUntil(t, 2*time.Second, func() (ratelimit.Decision, bool) {
		d := peek(t, l, "acct-1", lim)
		return d, d.Remaining == lim.Requests && d.ResetAfter == 0
	})
}

// testNoDoubleBurstAtWindowEdge spends the burst, then keeps asking for one
// full window plus an interval. A fixed-window limiter would admit the whole
// limit again at whichever window edge falls in that time; GCRA admits one
// request per interval. Times are measured by the client, so the bound
// leaves room for scheduling stalls yet stays well under a second burst.
func testNoDoubleBurstAtWindowEdge(t *testing.T, l ratelimit.Limiter) {
	lim := ratelimit.Limit{Requests: 8, Per: 400 * time.Millisecond}
	iv := lim.Per / time.Duration(lim.Requests)
	start := time.Now()
	spend(t, l, "acct-1", lim, lim.Requests)

	var admitted []time.Time
	for time.Since(start) < lim.Per+iv {
		if d := allow(t, l, "acct-1", lim); d.Allowed {
			admitted = append(admitted, time.Now())
		}
		time.Sleep(pollEvery)
	}
	const maxPerInterval = 4 // GCRA: 1 or 2 per interval-long span; a double burst: 8
	for i := range admitted {
		n := 0
		for _, at := range admitted[i:] {
			if at.Sub(admitted[i]) <= iv {
				n++
			}
		}
		if n > maxPerInterval {
			t.Fatalf("%d requests admitted within %s after the burst was spent, want at most %d (double burst?)", n, iv, maxPerInterval)
		}
	}
	elapsed := time.Since(start)
	if most := int(elapsed/iv) + 1; len(admitted) > most {
		t.Fatalf("%d admitted in the %s after the burst, want at most %d", len(admitted), elapsed, most)
	}
	if len(admitted) == 0 {
		t.Fatalf("nothing admitted in the %s after the burst: no refill", elapsed)
	}
}

// pollUntil calls try every pollEvery until it reports done or timeout
// passes, and returns the last decision.
func pollUntil(t *testing.T, timeout time.Duration, try func() (ratelimit.Decision, bool)) ratelimit.Decision {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d, done := try()
		if done {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %+v after waiting %s", d, timeout)
		}
		time.Sleep(pollEvery)
	}
}
