package accounteventssql_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventstest"
	"github.com/resayil/portal/pkg/database"
)

// run subscribes until the returned stop is called.
func run(t *testing.T, sub accountevents.Subscriber, got chan<- accountevents.Event) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = sub.Subscribe(ctx, func(ev accountevents.Event) { got <- ev }); close(done) }()
	return func() { cancel(); <-done }
}

func next(t *testing.T, got <-chan accountevents.Event) accountevents.Event {
	t.Helper()
	select {
	case ev := <-got:
		return ev
	case <-time.After(accounteventstest.Deadline):
		t.Fatal("no event within the deadline")
		return accountevents.Event{}
	}
}

func wantKind(t *testing.T, got <-chan accountevents.Event, k accountevents.Kind) accountevents.Event {
	t.Helper()
	ev := next(t, got)
	if ev.Kind != k {
		t.Fatalf("got %+v, want kind %s", ev, k)
	}
	return ev
}

func publish(t *testing.T, p accountevents.Publisher, ev accountevents.Event) {
	t.Helper()
	if err := p.Publish(context.Background(), ev); err != nil {
		t.Fatalf("Publish(%+v): %v", ev, err)
	}
}

func exec(t *testing.T, db *database.DB, q string) {
	t.Helper()
	if _, err := db.SQL.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

type chanHandler chan string

func (h chanHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h chanHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r.Message:
	default:
	}
	return nil
}
func (h chanHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h chanHandler) WithGroup(string) slog.Handler      { return h }
