package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/resayil"
)

// DefaultLoginLimit allows 5 failed logins per e-mail and per client IP in
// 15 minutes. The limiter is GCRA: the 6th failure within the window is
// refused, and one more attempt is allowed every 3 minutes after that.
var DefaultLoginLimit = ratelimit.Limit{Requests: 5, Per: 15 * time.Minute}

// ThrottledError is a refused login attempt. It carries the resayil error
// (ERATELIMITED) and how long to wait, for the Retry-After header.
type ThrottledError struct {
	Wait time.Duration
	err  *resayil.Error
}

func (e *ThrottledError) Error() string { return e.err.Error() }

// Unwrap lets resayil.ErrorCode find ERATELIMITED.
func (e *ThrottledError) Unwrap() error { return e.err }

// RetryAfter is the wait in whole seconds, at least 1.
func (e *ThrottledError) RetryAfter() time.Duration {
	return time.Duration(math.Max(1, math.Ceil(e.Wait.Seconds()))) * time.Second
}

func throttled(wait time.Duration) error {
	return &ThrottledError{Wait: wait, err: resayil.Errorf(resayil.ERATELIMITED,
		"Too many failed login attempts. Try again in %d minute(s).", int(math.Ceil(wait.Minutes())))}
}

// throttle counts failed password checks per e-mail and per client IP.
//
// The e-mail key is taken before the password is checked and forgotten
// after a success, so it counts failures and stays exact under concurrency:
// fifty parallel guesses at one account still get five. The IP key is only
// peeked before and counted after a failure, so that a successful login
// from a shared (NAT) address does not use up that address's allowance;
// parallel requests can therefore overshoot it by their concurrency once,
// after which the address is refused.
type throttle struct {
	limiter ratelimit.Limiter
	limit   ratelimit.Limit
}

// throttleKeys are the limiter keys of one attempt. The e-mail is hashed so
// that Redis never holds addresses in clear.
type throttleKeys struct{ email, ip string }

func newThrottleKeys(normalizedEmail, ip string) throttleKeys {
	sum := sha256.Sum256([]byte(normalizedEmail))
	return throttleKeys{email: "login:email:" + hex.EncodeToString(sum[:16]), ip: "login:ip:" + ip}
}

// begin admits an attempt or returns a *ThrottledError.
func (t throttle) begin(ctx context.Context, k throttleKeys) error {
	d, err := t.limiter.Peek(ctx, k.ip, t.limit)
	if err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	if !d.Allowed {
		return throttled(d.RetryAfter)
	}
	d, err = t.limiter.Allow(ctx, k.email, t.limit)
	if err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	if !d.Allowed {
		return throttled(d.RetryAfter)
	}
	return nil
}

// failed counts a wrong password against the client IP.
func (t throttle) failed(ctx context.Context, k throttleKeys) error {
	if _, err := t.limiter.Allow(ctx, k.ip, t.limit); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}

// succeeded forgets the e-mail's failures.
func (t throttle) succeeded(ctx context.Context, k throttleKeys) error {
	if err := t.limiter.Reset(ctx, k.email); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}
