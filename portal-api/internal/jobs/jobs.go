// Package jobs runs portal-api's periodic work inside `portal-api serve`:
// re-checking pending payments with MyFatoorah, ending expired
// subscriptions, writing renewal reminders.
//
// # Several replicas
//
// Every replica runs every job; none is elected. That is safe because each
// job takes its rows with conditional UPDATEs whose affected-row count says
// which replica acts on a row (see package billing, jobs.go): a payment's
// status_checked_at is moved forward by one replica per interval, a
// subscription goes from active to ended once, a reminder's
// reminder_sent_at goes from NULL once and its outbox row has a unique
// dedupe key. A replica that dies mid-pass leaves its rows to the next
// pass of any replica. This costs a few extra reads when replicas overlap
// and needs no lease table, no clock agreement between replicas, and no
// failover: a lease would add a single point of waiting and guard nothing
// the row claims do not already guard.
//
// # Time
//
// Due times are kept on an injected clock, so tests move the clock and
// call RunDue instead of sleeping; Run only wakes the scheduler up.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Job is one periodic task.
type Job struct {
	Name string
	// Every is the period; the first run is at the first RunDue.
	Every time.Duration
	// Run does one pass. It must be safe to run on several replicas at
	// once (see the package doc) and to repeat.
	Run func(ctx context.Context) error
}

// Config tunes a Scheduler.
type Config struct {
	// Now is the clock due times are kept on; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Scheduler runs jobs when they are due.
type Scheduler struct {
	now  func() time.Time
	log  *slog.Logger
	mu   sync.Mutex
	jobs []*entry
}

type entry struct {
	Job
	next time.Time
}

// New returns a Scheduler of jobs.
func New(cfg Config, jobs ...Job) (*Scheduler, error) {
	s := &Scheduler{now: cfg.Now, log: cfg.Log}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, j := range jobs {
		if j.Name == "" || j.Every <= 0 || j.Run == nil {
			return nil, fmt.Errorf("jobs: job %q needs a name, a positive period and a function", j.Name)
		}
		s.jobs = append(s.jobs, &entry{Job: j})
	}
	return s, nil
}

// RunDue runs, one after another, every job whose due time has come on the
// clock, and schedules its next run one period later. A failing job is
// logged and retried at its next period; the errors are returned joined.
func (s *Scheduler) RunDue(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, e := range s.jobs {
		now := s.now()
		if !e.next.IsZero() && now.Before(e.next) {
			continue
		}
		e.next = now.Add(e.Every)
		start := time.Now()
		if err := e.Run(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.log.Error("job failed; it runs again at its next period", "job", e.Name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", e.Name, err))
			continue
		}
		s.log.Debug("job done", "job", e.Name, "ms", time.Since(start).Milliseconds())
	}
	return errors.Join(errs...)
}

// Run calls RunDue every tick (real time) until ctx ends, then returns nil.
func (s *Scheduler) Run(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		_ = s.RunDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
