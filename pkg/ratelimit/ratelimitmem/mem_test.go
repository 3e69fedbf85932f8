package ratelimitmem_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitmem"
	"github.com/resayil/portal/pkg/ratelimit/ratelimittest"
)

func TestConformance(t *testing.T) {
	ratelimittest.RunConformance(t, func(*testing.T) ratelimit.Limiter {
		return ratelimitmem.New(ratelimitmem.Config{})
	})
}

// clock is a hand-advanced clock: the tests below check GCRA's arithmetic
// to the nanosecond without sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func allow(t *testing.T, l *ratelimitmem.Limiter, key string, lim ratelimit.Limit) ratelimit.Decision {
	t.Helper()
	d, err := l.Allow(context.Background(), key, lim)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestAllow_NoDoubleBurstAtMinuteEdge(t *testing.T) {
	c := newClock()
	l := ratelimitmem.New(ratelimitmem.Config{Now: c.Now})
	lim := ratelimit.PerMinute(10) // Basic: one request every 6 s after the burst
	c.Advance(59*time.Second + 900*time.Millisecond)
	for range 10 {
		if d := allow(t, l, "acct-1", lim); !d.Allowed {
			t.Fatalf("burst refused: %+v", d)
		}
	}
	c.Advance(200 * time.Millisecond) // across 12:01:00, where a fixed window resets
	want := ratelimit.Decision{Limit: 10, ResetAfter: 59800 * time.Millisecond, RetryAfter: 5800 * time.Millisecond}
	if d := allow(t, l, "acct-1", lim); d != want {
		t.Fatalf("just after the minute edge: %+v, want %+v", d, want)
	}
	// Over the next minute, asking every 100 ms: one admitted every 6 s.
	var admitted []time.Duration
	for at := time.Duration(0); at < time.Minute; at += 100 * time.Millisecond {
		c.Advance(100 * time.Millisecond)
		if d := allow(t, l, "acct-1", lim); d.Allowed {
			admitted = append(admitted, at)
		}
	}
	if len(admitted) != 10 {
		t.Fatalf("admitted %d in the minute after the burst, want 10: %v", len(admitted), admitted)
	}
	for i := 1; i < len(admitted); i++ {
		if gap := admitted[i] - admitted[i-1]; gap != 6*time.Second {
			t.Fatalf("gap %s between admitted requests, want 6s: %v", gap, admitted)
		}
	}
}

func TestAllow_RefillsExactly(t *testing.T) {
	c := newClock()
	l := ratelimitmem.New(ratelimitmem.Config{Now: c.Now})
	lim := ratelimit.PerMinute(60)
	if d := allow(t, l, "acct-1", lim); d.Remaining != 59 || d.ResetAfter != time.Second {
		t.Fatalf("first request: %+v, want Remaining 59, ResetAfter 1s", d)
	}
	for range 59 {
		allow(t, l, "acct-1", lim)
	}
	c.Advance(999 * time.Millisecond)
	if d := allow(t, l, "acct-1", lim); d.Allowed || d.RetryAfter != time.Millisecond {
		t.Fatalf("999ms later: %+v, want refused, RetryAfter 1ms", d)
	}
	c.Advance(time.Millisecond)
	if d := allow(t, l, "acct-1", lim); !d.Allowed || d.Remaining != 0 || d.ResetAfter != time.Minute {
		t.Fatalf("1s later: %+v, want allowed, Remaining 0, ResetAfter 1m", d)
	}
	c.Advance(time.Minute)
	want := ratelimit.Decision{Allowed: true, Limit: 60, Remaining: 60}
	if d, _ := l.Peek(context.Background(), "acct-1", lim); d != want {
		t.Fatalf("a minute later: %+v, want %+v", d, want)
	}
}

func TestAllow_DowngradeWaitsOneNewInterval(t *testing.T) {
	c := newClock()
	l := ratelimitmem.New(ratelimitmem.Config{Now: c.Now})
	for range 30 {
		allow(t, l, "acct-1", ratelimit.PerMinute(30)) // Pro, all spent
	}
	// Down to Basic: 30 used is more than 10, so the key is full, and the
	// next request comes one Basic interval (6 s) later, not 3 minutes.
	if d := allow(t, l, "acct-1", ratelimit.PerMinute(10)); d.Allowed || d.RetryAfter != 6*time.Second {
		t.Fatalf("after the downgrade: %+v, want refused, RetryAfter 6s", d)
	}
	c.Advance(6 * time.Second)
	if d := allow(t, l, "acct-1", ratelimit.PerMinute(10)); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("6s later: %+v, want allowed, Remaining 0", d)
	}

	// Same rate, shorter window: 100 used of 600 an hour is capped at the
	// 10 a minute allows, not carried as 10 minutes of waiting.
	hourly := ratelimit.Limit{Requests: 600, Per: time.Hour}
	for range 100 {
		allow(t, l, "acct-2", hourly)
	}
	if d := allow(t, l, "acct-2", ratelimit.PerMinute(10)); d.Allowed || d.RetryAfter != 6*time.Second {
		t.Fatalf("100 used of 600/h, then 10/min: %+v, want refused, RetryAfter 6s", d)
	}
}

func TestMemory_BoundedByMaxKeys(t *testing.T) {
	c := newClock()
	l := ratelimitmem.New(ratelimitmem.Config{Now: c.Now, MaxKeys: 640})
	for i := range 20_000 {
		// Hour-long limits keep every key live: only the cap can bound them.
		allow(t, l, fmt.Sprintf("login:ip:%d", i), ratelimit.Limit{Requests: 5, Per: time.Hour})
	}
	if n := l.Len(); n > 640 {
		t.Fatalf("Len = %d, want at most MaxKeys 640", n)
	}
}

func TestMemory_IdleKeysAreSwept(t *testing.T) {
	c := newClock()
	l := ratelimitmem.New(ratelimitmem.Config{Now: c.Now})
	lim := ratelimit.Limit{Requests: 5, Per: time.Second}
	for round := range 5 {
		for i := range 10_000 {
			allow(t, l, fmt.Sprintf("r%d:%d", round, i), lim)
		}
		c.Advance(2 * time.Second) // every key of this round is refilled
	}
	// Without sweeping 50,000 keys would be held; idle keys are kept below
	// the number of live ones (10,000), plus a small per-shard slack.
	if n := l.Len(); n > 2*10_000 {
		t.Fatalf("Len = %d after 5 rounds of 10,000 short-lived keys, want at most 20,000", n)
	}
}
