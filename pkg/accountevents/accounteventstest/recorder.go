package accounteventstest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
)

// recorder runs one subscription (one gateway replica) and keeps what it
// delivers. Waits are woken by the handler through a channel and bounded by
// a deadline; nothing sleeps to synchronise.
type recorder struct {
	name    string
	cancel  context.CancelFunc
	done    chan struct{}
	changed chan struct{}

	mu     sync.Mutex
	events []accountevents.Event
	err    error

	returned atomic.Bool
	late     atomic.Int32 // handler calls after Subscribe returned
}

// subscribe starts a subscription that ends with the test.
func subscribe(t *testing.T, name string, sub accountevents.Subscriber) *recorder {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{name: name, cancel: cancel, done: make(chan struct{}), changed: make(chan struct{}, 1)}
	go func() {
		err := sub.Subscribe(ctx, r.handle)
		r.mu.Lock()
		r.err = err
		r.mu.Unlock()
		r.returned.Store(true)
		close(r.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(Deadline):
			t.Errorf("%s: Subscribe did not return within %s of its context ending", name, Deadline)
		}
	})
	return r
}

func (r *recorder) handle(ev accountevents.Event) {
	if r.returned.Load() {
		r.late.Add(1)
	}
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

func (r *recorder) snapshot() []accountevents.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]accountevents.Event(nil), r.events...)
}

// waitFor waits until ok holds for what was delivered so far.
func (r *recorder) waitFor(t *testing.T, what string, ok func([]accountevents.Event) bool) []accountevents.Event {
	t.Helper()
	timer := time.NewTimer(Deadline)
	defer timer.Stop()
	for {
		evs := r.snapshot()
		if ok(evs) {
			return evs
		}
		select {
		case <-r.changed:
		case <-r.done:
			if evs := r.snapshot(); ok(evs) {
				return evs
			}
			t.Fatalf("%s: Subscribe returned (err %v) before %s; got %s", r.name, r.err, what, format(r.snapshot()))
		case <-timer.C:
			t.Fatalf("%s: not %s within %s; got %s", r.name, what, Deadline, format(r.snapshot()))
		}
	}
}

// waitLive waits for the first resync: from then on every event counts.
func (r *recorder) waitLive(t *testing.T) {
	t.Helper()
	r.waitFor(t, "live (first resync)", func(evs []accountevents.Event) bool { return countResyncs(evs) >= 1 })
}

// waitReal waits for n events other than resyncs and returns them.
func (r *recorder) waitReal(t *testing.T, n int) []accountevents.Event {
	t.Helper()
	evs := r.waitFor(t, fmt.Sprintf("given %d published events", n), func(evs []accountevents.Event) bool { return len(published(evs)) >= n })
	return published(evs)
}

// stop ends the subscription and waits for Subscribe to return nil.
func (r *recorder) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(Deadline):
		t.Fatalf("%s: Subscribe did not return within %s of its context ending", r.name, Deadline)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		t.Errorf("%s: Subscribe returned %v after its context ended, want nil", r.name, r.err)
	}
}

func published(evs []accountevents.Event) []accountevents.Event {
	var out []accountevents.Event
	for _, e := range evs {
		if e.Kind != accountevents.KindResync {
			out = append(out, e)
		}
	}
	return out
}

func countResyncs(evs []accountevents.Event) int {
	return len(evs) - len(published(evs))
}

func same(a, b accountevents.Event) bool {
	return a.Kind == b.Kind && a.Account == b.Account && a.Subject == b.Subject && a.At.Equal(b.At)
}

func format(evs []accountevents.Event) string {
	if len(evs) == 0 {
		return "nothing"
	}
	var sb strings.Builder
	for i, e := range evs {
		if i > 0 {
			sb.WriteString(", ")
		}
		fmt.Fprintf(&sb, "{%s %d %q %s}", e.Kind, e.Account, e.Subject, e.At.Format(time.RFC3339Nano))
	}
	return sb.String()
}
