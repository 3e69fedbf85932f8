package fakechat

import (
	"context"
	"errors"
	"slices"
	"time"
)

var (
	errBusy   = errors.New("fake: queue full")
	errGone   = errors.New("fake: client went away")
	errClosed = errors.New("fake: closed")
)

// admit takes a parallel slot, waiting in the queue when all are taken, the
// way Ollama's scheduler does: at most maxQueue requests wait, and one more
// gets errBusy at once. The returned release gives the slot to the oldest
// waiter, or frees it.
func (c *Controls) admit(ctx context.Context) (release func(), err error) {
	c.mu.Lock()
	if c.parallel <= 0 || c.stats.Running < c.parallel {
		c.stats.Running++
		c.notify()
		c.mu.Unlock()
		return c.release, nil
	}
	if c.stats.Queued >= c.maxQueue {
		c.stats.Rejected++
		c.notify()
		c.mu.Unlock()
		return nil, errBusy
	}
	turn := make(chan struct{})
	c.waiters = append(c.waiters, turn)
	c.stats.Queued++
	c.notify()
	c.mu.Unlock()

	select {
	case <-turn:
		return c.release, nil
	case <-ctx.Done():
	case <-c.done:
	}
	stop := c.gone()
	c.mu.Lock()
	if i := slices.Index(c.waiters, turn); i >= 0 {
		c.waiters = slices.Delete(c.waiters, i, i+1)
		c.stats.Queued--
		c.notify()
		c.mu.Unlock()
		return nil, stop
	}
	c.mu.Unlock()
	c.release() // the slot was handed over while we were leaving
	return nil, stop
}

func (c *Controls) release() {
	c.mu.Lock()
	c.stats.Running--
	c.startWaiters()
	c.notify()
	c.mu.Unlock()
}

// startWaiters starts queued requests, oldest first, while slots are free;
// c.mu must be held.
func (c *Controls) startWaiters() {
	for len(c.waiters) > 0 && (c.parallel <= 0 || c.stats.Running < c.parallel) {
		turn := c.waiters[0]
		c.waiters = c.waiters[1:]
		c.stats.Queued--
		c.stats.Running++
		close(turn)
	}
}

// hold keeps an admitted request before its first byte: first while the
// fake is paused, then for the configured latency.
func (c *Controls) hold(ctx context.Context) error {
	c.mu.Lock()
	gate, latency := c.gate, c.latency
	c.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return c.gone()
		case <-c.done:
			return errClosed
		}
	}
	return c.sleep(ctx, latency)
}

// sleep waits for d, or returns errGone/errClosed when the client goes away
// or the fake is closed first.
func (c *Controls) sleep(ctx context.Context, d time.Duration) error {
	if ctx.Err() != nil {
		return c.gone()
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return c.gone()
	case <-c.done:
		return errClosed
	}
}

// gone explains why a request stopped early: the fake was closed (which
// also drops connections) or else the client went away.
func (c *Controls) gone() error {
	select {
	case <-c.done:
		return errClosed
	default:
		return errGone
	}
}
