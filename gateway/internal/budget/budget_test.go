package budget_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/budget"
	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetsql"
	"github.com/resayil/portal/pkg/testenv"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// The cached view follows the Kuwait day of the injected clock; alerts are
// recorded once per day and threshold, in the background loop.
func TestBudget_DayAndAlerts(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.SQLite(t)
	store, err := cloudbudgetsql.New(db, cloudbudgetsql.Config{DefaultCap: 5})
	if err != nil {
		t.Fatal(err)
	}
	kw := time.FixedZone("Kuwait", 3*3600)
	c := &clock{now: time.Date(2032, 1, 31, 23, 59, 59, 0, kw)}
	b := budget.New(budget.Config{Store: store, Outbox: cloudbudgetsql.NewOutbox(db, cloudbudgetsql.OutboxConfig{}), Now: c.Now, Refresh: 20 * time.Millisecond})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { b.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	if !b.Room() || b.Today() != "2032-01-31" {
		t.Fatal("a day not read yet has room")
	}
	for i := range 5 {
		if _, ok, err := b.Take(ctx); err != nil || !ok {
			t.Fatalf("take %d: %v %v", i, ok, err)
		}
	}
	if _, ok, _ := b.Take(ctx); ok || b.Room() {
		t.Fatal("exhausted day still has room")
	}
	count := func(day cloudbudget.Day) int {
		var n int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM notifications WHERE dedupe_key IN (?, ?)`, cloudbudget.Alert80.DedupeKey(day), cloudbudget.Alert100.DedupeKey(day)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for count("2032-01-31") != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d alerts", count("2032-01-31"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Set(time.Date(2032, 2, 1, 0, 0, 0, 0, kw))
	if !b.Room() || b.Today() != "2032-02-01" {
		t.Fatal("midnight Kuwait did not turn the day")
	}
	if st, ok, err := b.Take(ctx); err != nil || !ok || st.Day != "2032-02-01" || st.Used != 1 {
		t.Fatalf("new day: %+v %v %v", st, ok, err)
	}
	// A refresh of the new day, as the background loop runs it: it must
	// neither repeat yesterday's alerts nor record any for today.
	for range 2 {
		if _, err := b.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if count("2032-01-31") != 2 || count("2032-02-01") != 0 {
		t.Fatal("alerts repeated or recorded for the wrong day")
	}
	if st, known := b.State(); !known || st.Day != "2032-02-01" || st.Cap != 5 {
		t.Fatalf("state %+v %v", st, known)
	}
}
