package accountevents

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff bounds the wait between a failed session and the next attempt. The
// wait doubles after each failure from Min up to Max, with up to 20 % random
// jitter so that replicas cut off together do not reconnect in lockstep.
type Backoff struct {
	Min time.Duration // default 100ms
	Max time.Duration // default 5s: a reconnect is never more than a few seconds late
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 5 * time.Second
	}
	if b.Max < b.Min {
		b.Max = b.Min
	}
	return b
}

// KeepAlive runs session again and again until ctx ends, so that
// implementations share one retry policy. session connects, calls connected
// once it is live (which resets the backoff to Min) and runs until it fails
// or ctx ends. After each failure, report (if not nil) receives the error and
// the wait before the next attempt. KeepAlive returns when ctx ends.
func KeepAlive(ctx context.Context, b Backoff, session func(ctx context.Context, connected func()) error, report func(err error, wait time.Duration)) {
	b = b.withDefaults()
	wait := b.Min
	for ctx.Err() == nil {
		err := session(ctx, func() { wait = b.Min })
		if ctx.Err() != nil {
			return
		}
		d := jitter(wait)
		if report != nil {
			report(err, d)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, b.Max)
	}
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}
