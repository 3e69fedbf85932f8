package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/notify"
)

// TestNotifyQueries_UseIndexes EXPLAINs the worker's claim and the admin
// listing by phone on a table with deliveries in every status: the claim
// reads ix_deliveries_due in its order (no sort, so MariaDB stops reading,
// and locking, once it has its batch), the phone filter reads
// ix_deliveries_phone.
func TestNotifyQueries_UseIndexes(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			ctx := context.Background()
			now := dbtime.Of(time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC))
			if _, err := db.SQL.ExecContext(ctx, `INSERT INTO notifications (dedupe_key, event, audience, locale, payload, status, attempts, next_attempt_at, created_at, updated_at)
VALUES ('k', 'welcome', 'admins', 'en', '{}', 'expanded', 0, ?, ?, ?)`, now, now, now); err != nil {
				t.Fatal(err)
			}
			tx, err := db.SQL.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			statuses := []string{"sent", "sent", "sent", "sent", "failed", "pending", "sending"}
			for i := range 3000 {
				at := now.Add(time.Duration(i-1500) * time.Second)
				if _, err := tx.ExecContext(ctx, `INSERT INTO notification_deliveries (notification_id, phone, status, attempts, next_attempt_at, created_at, updated_at)
VALUES (1, ?, ?, 0, ?, ?, ?)`, fmt.Sprintf("+96550%06d", i), statuses[i%len(statuses)], at, at, at); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			analyze := "ANALYZE"
			if db.Dialect == migrations.MySQL {
				analyze = "ANALYZE TABLE notification_deliveries"
			}
			if _, err := db.SQL.ExecContext(ctx, analyze); err != nil {
				t.Fatal(err)
			}
			n := New(db).Notify()
			for _, st := range []notify.DeliveryStatus{notify.Pending, notify.Sending} {
				q, args := n.dueQuery(st, now, 20)
				plan := explain(t, db, q, args)
				if problem := indexProblem(db.Dialect, plan, "ix_deliveries_due"); problem != "" {
					t.Errorf("claim of %s: %s\nplan:\n%s", st, problem, strings.Join(plan, "\n"))
				}
			}
			q := `SELECT id FROM notification_deliveries d WHERE d.phone = ? AND d.id < ? ORDER BY d.id DESC LIMIT 21`
			plan := explain(t, db, q, []any{"+965500001234", 2500})
			if problem := indexProblem(db.Dialect, plan, "ix_deliveries_phone"); problem != "" {
				t.Errorf("deliveries by phone: %s\nplan:\n%s", problem, strings.Join(plan, "\n"))
			}
		})
	}
}

// indexProblem says why a one-table plan does not read index in order, or "".
func indexProblem(d migrations.Dialect, plan []string, index string) string {
	text := strings.Join(plan, "\n")
	if !strings.Contains(text, index) {
		return "does not use " + index
	}
	if d == migrations.MySQL && strings.Contains(text, "filesort") {
		return "sorts instead of reading the index in order"
	}
	if d == migrations.SQLite && strings.Contains(text, "TEMP B-TREE") {
		return "sorts instead of reading the index in order"
	}
	return ""
}
