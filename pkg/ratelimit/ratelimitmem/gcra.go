package ratelimitmem

import (
	"math"
	"time"

	"github.com/resayil/portal/pkg/ratelimit"
)

// state is all a key stores: its theoretical arrival time (TAT, Unix
// nanoseconds) and the emission interval the TAT was written with, which
// lets the next call convert what was used into the current limit's units.
type state struct {
	tat int64
	iv  int64
}

// decide applies GCRA for n requests at now; n == 0 peeks at the next single
// request. It returns the decision, the state to store and whether to store
// it: admitted requests change the state, and so does a limit change, which
// converts the state to the new limit even when nothing is admitted (else the
// cap below would be applied afresh, and the key stay full, on every call).
// ratelimitredis's Lua script is the same algorithm in microseconds; keep the
// two in step.
func decide(st state, now int64, lim ratelimit.Limit, n int) (ratelimit.Decision, state, bool) {
	iv := int64(lim.Per) / int64(lim.Requests)
	// The burst window is Requests whole intervals rather than Per, so
	// truncating Per/Requests can never admit one request more than Requests.
	window := iv * int64(lim.Requests)

	// debt is how far the TAT lies ahead of now: the used part of the window.
	var debt int64
	converted := false
	if st.tat > now {
		debt = st.tat - now
		if st.iv != iv {
			// The limit changed: keep the count of requests used, measured
			// in the new interval.
			debt = int64(math.Ceil(float64(debt) * float64(iv) / float64(st.iv)))
			converted = true
		}
		if debt > window {
			// Never more than one full window, so a downgrade cannot lock a
			// key out for longer than one interval of the new limit.
			debt, converted = window, true
		}
	}

	d := ratelimit.Decision{Limit: lim.Requests}
	after := debt + int64(max(n, 1))*iv
	if after > window {
		d.Remaining = int((window - debt) / iv)
		d.ResetAfter = time.Duration(debt)
		d.RetryAfter = time.Duration(after - window)
		return d, state{tat: now + debt, iv: iv}, converted
	}
	if n > 0 {
		debt = after
	}
	d.Allowed = true
	d.Remaining = int((window - debt) / iv)
	d.ResetAfter = time.Duration(debt)
	return d, state{tat: now + debt, iv: iv}, n > 0 || converted
}
