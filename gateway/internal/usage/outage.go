package usage

import (
	"log/slog"
	mrand "math/rand/v2"
	"time"
)

// outage logs a dependency going down once, when the first call fails,
// and coming back once, instead of one line per retry. Only the Writer's
// goroutine uses it.
type outage struct {
	what  string
	log   *slog.Logger
	now   func() time.Time
	down  bool
	since time.Time
	fails int
}

func (o *outage) fail(err error) {
	o.fails++
	if o.down {
		return
	}
	o.down, o.since = true, o.now()
	o.log.Warn(o.what+" unavailable: usage waits in the streams, retrying with backoff", "err", err)
}

func (o *outage) ok() {
	if !o.down {
		return
	}
	o.log.Info(o.what+" available again", "after", o.now().Sub(o.since).Round(time.Millisecond), "failed_attempts", o.fails)
	o.down, o.fails = false, 0
}

// jitter returns a random duration in [0, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return mrand.N(d + 1)
}
