package api

import (
	"context"
	"fmt"

	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/resayil"
)

// errReturnThrottled is a return the client's IP may not make ask
// MyFatoorah now; the browser still gets its redirect (status pending).
var errReturnThrottled = resayil.Errorf(resayil.ERATELIMITED, "Too many payment returns from this address; not asking MyFatoorah now.")

// returnThrottle bounds the GetPaymentStatus calls one client IP can cause
// through the unauthenticated return route: each call takes one request of
// the IP's limit, whether the paymentId was real or made up (replaying a
// real, unpaid one asks MyFatoorah every time too). The limiter is the
// login throttle's: Redis, shared by every replica, when configured.
type returnThrottle struct {
	limiter ratelimit.Limiter
	limit   ratelimit.Limit
}

// admit returns what billing.Return calls before asking MyFatoorah for the
// client at ip. A limiter that fails refuses too (ratelimit's contract: no
// request goes through unlimited); the buyer is redirected as pending.
func (r returnThrottle) admit(ip string) func(context.Context) error {
	if r.limiter == nil {
		return nil
	}
	return func(ctx context.Context) error {
		d, err := r.limiter.Allow(ctx, "mfreturn:ip:"+ip, r.limit)
		if err != nil {
			return fmt.Errorf("return throttle: %w", err)
		}
		if !d.Allowed {
			return errReturnThrottled
		}
		return nil
	}
}
