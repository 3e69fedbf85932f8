package store

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/testenv"
)

// TestOverviewQueries_UseIndexes EXPLAINs the overview's and the revenue
// report's reads by time over a year of rows: 30 days of paid payments
// read ix_payments_paid, of grants ix_credit_ledger_time, of hourly usage
// ix_usage_hourly_hour, each a range of its index rather than the table.
func TestOverviewQueries_UseIndexes(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			ctx := context.Background()
			end := dbtime.Of(time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC))
			tx, err := db.SQL.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			exec := func(q string, args ...any) {
				t.Helper()
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			// Many accounts, as in production: a skip-scan of the
			// account-first indexes would then cost more than the time index.
			const accounts = 200
			for a := 1; a <= accounts; a++ {
				exec(`INSERT INTO accounts (id, kind, status, created_at, updated_at) VALUES (?, 'user', 'active', ?, ?)`, a, end, end)
			}
			statuses := []string{"paid", "paid", "pending", "expired", "failed"}
			const n = 2000
			for i := range n {
				at := end.Add(-time.Duration(i) * 4 * time.Hour) // a year
				var paid any
				if statuses[i%len(statuses)] == "paid" {
					paid = at
				}
				exec(`INSERT INTO payments (reference, account_id, user_id, kind, amount_fils, currency, credits, status, expires_at, paid_at, created_at, updated_at)
VALUES (?, ?, 1, 'topup', 2500, 'KWD', 5000, ?, ?, ?, ?, ?)`, "ref-"+strconv.Itoa(i), 1+i%accounts, statuses[i%len(statuses)], at, paid, at, at)
				exec(`INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, created_at) VALUES (?, ?, 'payment', 5000, ?)`, 1+i%accounts, "payment:"+strconv.Itoa(i), at)
				exec(`INSERT INTO usage_hourly (account_id, hour_start, model, backend, api_key_id, requests, prompt_tokens, completion_tokens, credits, errors)
VALUES (?, ?, 'm', 'local', 0, 3, 1, 1, 9, 0)`, 1+i%accounts, at.Truncate(time.Hour))
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			analyze := "ANALYZE"
			if db.Dialect == migrations.MySQL {
				analyze = "ANALYZE TABLE payments, credit_ledger, usage_hourly"
			}
			if _, err := db.SQL.ExecContext(ctx, analyze); err != nil {
				t.Fatal(err)
			}
			from := end.Add(-30 * 24 * time.Hour)
			for _, q := range []struct {
				name, sql, index string
			}{
				{"revenue sums", revenueSumsSQL, "ix_payments_paid"},
				{"paid payments", paidPaymentsSQL, "ix_payments_paid"},
				{"credits granted", ledgerSumSQL, "ix_credit_ledger_time"},
				{"credits consumed", hourlyCreditsSQL, "ix_usage_hourly_hour"},
				{"requests", hourlyRequestsSQL, "ix_usage_hourly_hour"},
			} {
				plan := explain(t, db, q.sql, []any{from, end})
				text := strings.Join(plan, "\n")
				if !strings.Contains(text, q.index) {
					t.Errorf("%s: does not use %s\nplan:\n%s", q.name, q.index, text)
				}
			}
		})
	}
}
