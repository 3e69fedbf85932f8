package account

import (
	"context"
	"errors"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// Default hashing gate: two bcrypt operations at once (at cost 12 each is
// about a quarter of a second of one core), waiting at most half a second.
const (
	DefaultHashConcurrency = 2
	DefaultHashWait        = 500 * time.Millisecond
)

// HashGate bounds the bcrypt work done at once. Without it, 24 parallel
// registrations at cost 12 kept both cores busy for 16 s and everything
// else on the machine waited; with it, a request that finds no slot within
// a short wait is refused with 429 and Retry-After, so the work queued is
// bounded too. Logins (the dummy comparison for an unknown e-mail
// included), registrations and password changes all pass through it, so a
// busy answer says nothing about whether an address is registered.
type HashGate struct {
	slots chan struct{}
	wait  time.Duration
}

// NewHashGate returns a gate of n slots where a request waits at most wait.
func NewHashGate(n int, wait time.Duration) (*HashGate, error) {
	if n < 1 || wait < 0 {
		return nil, errors.New("account: the hashing gate needs at least one slot and a wait of zero or more")
	}
	return &HashGate{slots: make(chan struct{}, n), wait: wait}, nil
}

// Acquire takes a slot, waiting at most the gate's wait, and returns the
// function that gives it back. No slot in time is a *ThrottledError.
func (g *HashGate) Acquire(ctx context.Context) (release func(), err error) {
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	default:
	}
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return g.release, nil
	case <-timer.C:
		return nil, busy()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *HashGate) release() { <-g.slots }

func busy() error {
	return &ThrottledError{Wait: time.Second, err: resayil.Errorf(resayil.ERATELIMITED,
		"The server is busy. Try again in a few seconds.")}
}
