package jobs_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/portal-api/internal/jobs"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestScheduler_RunsWhenDueOnTheClock(t *testing.T) {
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	runs := map[string]int{}
	job := func(name string, err error) func(context.Context) error {
		return func(context.Context) error { runs[name]++; return err }
	}
	s, err := jobs.New(jobs.Config{Now: c.Now},
		jobs.Job{Name: "fast", Every: time.Minute, Run: job("fast", nil)},
		jobs.Job{Name: "slow", Every: 5 * time.Minute, Run: job("slow", errors.New("boom"))},
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.RunDue(ctx); err == nil {
		t.Error("a failing job's error was not returned")
	}
	s.RunDue(ctx) // nothing due yet
	c.Advance(time.Minute)
	s.RunDue(ctx)
	c.Advance(4 * time.Minute)
	s.RunDue(ctx)
	if runs["fast"] != 3 || runs["slow"] != 2 {
		t.Errorf("runs %v, want fast 3 and slow 2 (a failing job still waits its period)", runs)
	}
	if _, err := jobs.New(jobs.Config{}, jobs.Job{Name: "x"}); err == nil {
		t.Error("a job without a period was accepted")
	}
}

// TestScheduler_RunStopsWithTheContext: Run runs the due jobs with its
// context, and cancelling that context stops the job in flight and makes
// Run return nil.
func TestScheduler_RunStopsWithTheContext(t *testing.T) {
	started := make(chan struct{})
	s, err := jobs.New(jobs.Config{}, jobs.Job{Name: "j", Every: time.Hour, Run: func(ctx context.Context) error {
		close(started) // once: the next run is an hour away
		<-ctx.Done()
		return ctx.Err()
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, time.Millisecond) }()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not start the due job")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
