package accounteventssql_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventssql"
	"github.com/resayil/portal/pkg/accountevents/accounteventstest"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/testenv"
)

// fast polls often so the suite runs quickly; the 5 s deadline it asserts
// is met by the default 1 s interval too (TestDefaultConfig_DeliversWithinDeadline).
var fast = accounteventssql.Config{
	PollInterval: 20 * time.Millisecond,
	Backoff:      accountevents.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond},
}

func TestConformance(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			accounteventstest.RunConformance(t, func(t *testing.T) accounteventstest.Pair {
				db, _ := testenv.Open(t, b)
				bus := accounteventssql.New(db.SQL, fast)
				return accounteventstest.Pair{Publisher: bus, Subscriber: bus}
			})
		})
	}
}

// each runs fn on a fresh database of every backend.
func each(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			fn(t, db)
		})
	}
}

func TestDefaultConfig_DeliversWithinDeadline(t *testing.T) {
	each(t, func(t *testing.T, db *database.DB) {
		bus := accounteventssql.New(db.SQL, accounteventssql.Config{})
		got := make(chan accountevents.Event, 10)
		defer run(t, bus, got)()
		wantKind(t, got, accountevents.KindResync)
		publish(t, bus, accountevents.Event{Kind: accountevents.KindKeyRevoked, Account: 1, Subject: "9"})
		wantKind(t, got, accountevents.KindKeyRevoked)
	})
}

func TestWith_EventFollowsTheTransaction(t *testing.T) {
	each(t, func(t *testing.T, db *database.DB) {
		bus := accounteventssql.New(db.SQL, fast)
		got := make(chan accountevents.Event, 10)
		defer run(t, bus, got)()
		wantKind(t, got, accountevents.KindResync)
		ctx := context.Background()

		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		publish(t, bus.With(tx), accountevents.Event{Kind: accountevents.KindKeyRevoked, Subject: "rolled back"})
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		tx, err = db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		publish(t, bus.With(tx), accountevents.Event{Kind: accountevents.KindKeyRevoked, Subject: "committed"})
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if ev := wantKind(t, got, accountevents.KindKeyRevoked); ev.Subject != "committed" {
			t.Fatalf("got %+v, want only the committed event", ev)
		}
	})
}

// On MySQL a row can become visible after a row with a higher id (its
// transaction committed later). SQLite serialises writers, so only MariaDB
// can show this.
func TestSubscribe_LateCommitBehindHigherIDIsDelivered(t *testing.T) {
	db, _ := testenv.MariaDB(t)
	bus := accounteventssql.New(db.SQL, fast)
	got := make(chan accountevents.Event, 10)
	defer run(t, bus, got)()
	wantKind(t, got, accountevents.KindResync)
	ctx := context.Background()
	tx, err := db.SQL.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	publish(t, bus.With(tx), accountevents.Event{Kind: accountevents.KindKeyRevoked, Subject: "slow"}) // lower id
	publish(t, bus, accountevents.Event{Kind: accountevents.KindKeyRevoked, Subject: "fast"})          // higher id, visible first
	if ev := wantKind(t, got, accountevents.KindKeyRevoked); ev.Subject != "fast" {
		t.Fatalf("got %+v first, want the committed event", ev)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if ev := wantKind(t, got, accountevents.KindKeyRevoked); ev.Subject != "slow" {
		t.Fatalf("got %+v, want the late-committed event", ev)
	}
}

// The table keeps what was published while a subscription could not read,
// so after a database error it resumes from its cursor without a resync.
func TestSubscribe_ResumesAfterDatabaseError(t *testing.T) {
	each(t, func(t *testing.T, db *database.DB) {
		logs := make(chan string, 100)
		cfg := fast
		cfg.Logger = slog.New(chanHandler(logs))
		bus := accounteventssql.New(db.SQL, cfg)
		got := make(chan accountevents.Event, 10)
		defer run(t, bus, got)()
		wantKind(t, got, accountevents.KindResync)
		exec(t, db, `ALTER TABLE account_events RENAME TO account_events_away`)
		select {
		case <-logs:
		case <-time.After(accounteventstest.Deadline):
			t.Fatal("no poll failure logged while the table was missing")
		}
		exec(t, db, `ALTER TABLE account_events_away RENAME TO account_events`)
		publish(t, bus, accountevents.Event{Kind: accountevents.KindPlanChanged, Account: 4})
		if ev := next(t, got); ev.Kind != accountevents.KindPlanChanged {
			t.Fatalf("after the outage got %+v, want plan_changed and no resync", ev)
		}
	})
}

func TestPublish_PlatformWideEventStoresNullAccount(t *testing.T) {
	each(t, func(t *testing.T, db *database.DB) {
		bus := accounteventssql.New(db.SQL, fast)
		publish(t, bus, accountevents.Event{Kind: accountevents.KindCloudBudgetChanged})
		var n int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM account_events WHERE account_id IS NULL AND kind = 'cloud_budget_changed'`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("rows with NULL account_id: %d, %v; want 1", n, err)
		}
	})
}

func TestSubscribe_PrunesRowsPastRetention(t *testing.T) {
	each(t, func(t *testing.T, db *database.DB) {
		cfg := fast
		cfg.Retention, cfg.PruneEvery = 100*time.Millisecond, 20*time.Millisecond
		bus := accounteventssql.New(db.SQL, cfg)
		got := make(chan accountevents.Event, 10)
		defer run(t, bus, got)()
		wantKind(t, got, accountevents.KindResync)
		for range 3 {
			publish(t, bus, accountevents.Event{Kind: accountevents.KindWalletGranted, Account: 2})
		}
		for range 3 {
			wantKind(t, got, accountevents.KindWalletGranted)
		}
		deadline := time.Now().Add(accounteventstest.Deadline)
		for {
			var n int
			if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM account_events`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d rows left after %s with a retention of %s", n, accounteventstest.Deadline, cfg.Retention)
			}
			time.Sleep(20 * time.Millisecond) // polling a condition, with a deadline
		}
	})
}
