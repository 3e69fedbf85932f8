// Package ratelimit admits or refuses requests per key (an account, a login
// email, a client IP) against a Limit such as "30 requests per minute".
//
// Every implementation uses GCRA, the generic cell rate algorithm: each key
// stores one timestamp, the theoretical arrival time (TAT) of the next
// request, instead of a counter per fixed window. A fixed window lets a
// client spend its whole limit just before a window edge and again just
// after it (a double burst); GCRA spaces requests one emission interval
// (Per/Requests) apart once the burst of Requests is spent, so no interval of
// any length admits more than Requests plus what refilled during it.
//
// The Limit is passed on every call and never stored with the key, so a plan
// change takes effect on the next call. What a key has used carries over as
// a count of requests: after an upgrade from 10 to 30 per minute a client
// that made 10 requests has 20 left at once; after a downgrade it waits at
// most one emission interval of the new limit.
//
// Two implementations sit behind the Limiter interface (docs/architecture.md
// "Two ways to run"): ratelimitmem for the single embedded gateway,
// ratelimitredis for many gateway replicas sharing one limit. Both pass
// ratelimittest's conformance suite.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Limit allows Requests per Per, as a burst of up to Requests that refills
// evenly: one request every Per/Requests.
type Limit struct {
	Requests int
	Per      time.Duration
}

// PerMinute returns a limit of n requests per minute, the unit of the plans.
func PerMinute(n int) Limit { return Limit{Requests: n, Per: time.Minute} }

// ErrInvalidLimit is returned (wrapped) for a limit that admits nothing, an
// emission interval under a microsecond (Redis clock resolution), or an n
// outside 1..Requests. It is a programming or configuration error, not a
// refusal, so it maps to an internal error.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// Validate reports whether l can admit requests, wrapping ErrInvalidLimit.
func (l Limit) Validate() error {
	if l.Requests <= 0 || l.Per <= 0 {
		return fmt.Errorf("%w: %d per %s", ErrInvalidLimit, l.Requests, l.Per)
	}
	if l.Per/time.Duration(l.Requests) < time.Microsecond {
		return fmt.Errorf("%w: %d per %s is more than one request per microsecond", ErrInvalidLimit, l.Requests, l.Per)
	}
	return nil
}

// ValidateN is Validate plus a check that n requests can ever fit at once.
func (l Limit) ValidateN(n int) error {
	if err := l.Validate(); err != nil {
		return err
	}
	if n < 1 || n > l.Requests {
		return fmt.Errorf("%w: cannot take %d at once from %d per %s", ErrInvalidLimit, n, l.Requests, l.Per)
	}
	return nil
}

// Decision is the outcome of one call, with what the gateway needs for the
// x-ratelimit-* and Retry-After headers.
type Decision struct {
	// Allowed says whether the requests were admitted (and counted).
	Allowed bool
	// Limit is the Requests of the limit applied.
	Limit int
	// Remaining is how many more requests would be admitted right now.
	Remaining int
	// ResetAfter is how long until the key is fully restored (Remaining ==
	// Limit) if nothing more is admitted.
	ResetAfter time.Duration
	// RetryAfter is how long to wait before the refused call would succeed;
	// zero when Allowed.
	RetryAfter time.Duration
}

// Limiter admits requests per key. Calls for the same key are atomic with
// respect to each other, in every process sharing the implementation's
// storage: N concurrent calls against a fresh key with Limit.Requests == N
// admit exactly N.
//
// Errors: a limit or n that fails ValidateN wraps ErrInvalidLimit; a storage
// failure carries resayil.EUNAVAILABLE, and the caller must refuse the
// request rather than let it through unlimited.
type Limiter interface {
	// Allow admits one request for key under limit, or refuses it and says
	// when to retry. A refused request is not counted.
	Allow(ctx context.Context, key string, limit Limit) (Decision, error)
	// AllowN admits n requests at once or none of them (for example one
	// failed login is n == 1; a batch may be more).
	AllowN(ctx context.Context, key string, limit Limit, n int) (Decision, error)
	// Peek reports, without counting anything, whether one request would be
	// admitted now: Allowed, Remaining and RetryAfter describe the next Allow.
	// Login throttling peeks before checking a password and counts only
	// failures.
	Peek(ctx context.Context, key string, limit Limit) (Decision, error)
	// Reset forgets key, restoring its full limit (after a successful login,
	// say). Resetting an unknown key is not an error.
	Reset(ctx context.Context, key string) error
}
