package usagehourly_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/usagehourly"
)

// TestWrite_AddsToTheBackfilledRow: a record written after the migration
// adds to the row the backfill made of the same hour's older records (the
// hour as Go writes it is the key the migration computed, SQLite's text
// included), and a new hour, model or key starts a row; the rollup equals
// the records throughout. On both databases.
func TestWrite_AddsToTheBackfilledRow(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := testenv.EmptySQLite(t)
			if b == testenv.MariaDBBackend {
				dsn = testenv.EmptyMariaDB(t)
			}
			db, err := database.Open(ctx, dsn, database.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			m, err := db.Migrator()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := m.UpTo(ctx, 2); err != nil {
				t.Fatal(err)
			}
			hour := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
			seq := 0
			record := func(tx interface {
				ExecContext(context.Context, string, ...any) (sql.Result, error)
			}, r usagehourly.Record) {
				t.Helper()
				seq++
				var key any
				if r.APIKeyID != 0 {
					key = r.APIKeyID
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO usage_records (request_id, account_id, api_key_id, model, backend,
  prompt_tokens, completion_tokens, total_tokens, credits, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					fmt.Sprintf("r-%d", seq), r.Account, key, r.Model, r.Backend, r.PromptTokens, r.CompletionTokens,
					r.PromptTokens+r.CompletionTokens, r.Credits, r.Status, r.CreatedAt); err != nil {
					t.Fatal(err)
				}
			}
			old := usagehourly.Record{Account: 1, Model: "llama3.2:3b", Backend: "local", Status: "ok",
				PromptTokens: 5, CompletionTokens: 7, Credits: 1, CreatedAt: hour.Add(17*time.Minute + 123456*time.Microsecond)}
			record(db.SQL, old)
			old.APIKeyID, old.Status = 4, "upstream_error"
			record(db.SQL, old)
			if _, err := m.Up(ctx); err != nil {
				t.Fatal(err)
			}
			if rows := testenv.CheckHourly(t, db.SQL); len(rows) != 2 {
				t.Fatalf("backfilled %d rows, want 2: %+v", len(rows), rows)
			}

			// Later records of the same hour and key, and of another hour,
			// model and key, in one transaction with their rollup.
			add := []usagehourly.Record{
				{Account: 1, Model: "llama3.2:3b", Backend: "local", Status: "ok", PromptTokens: 1, CompletionTokens: 2, Credits: 3,
					CreatedAt: hour.Add(59*time.Minute + 59*time.Second + 999999*time.Microsecond)},
				{Account: 1, APIKeyID: 4, Model: "llama3.2:3b", Backend: "local", Status: "ok", PromptTokens: 1, CompletionTokens: 2, Credits: 3,
					CreatedAt: hour},
				{Account: 1, Model: "llama3.2:3b", Backend: "local", Status: "client_closed", CreatedAt: hour.Add(time.Hour)},
				{Account: 1, Model: "qwen2.5:7b", Backend: "cloud", Status: "ok", Credits: 2, CreatedAt: hour.Add(time.Minute)},
				{Account: 2, APIKeyID: 9, Model: "llama3.2:3b", Backend: "local", Status: "ok", Credits: 1, CreatedAt: hour.Add(time.Minute)},
			}
			for i := range 2 { // once as a rollup, once record by record
				err := database.RunTx(ctx, db.SQL, nil, func(tx *sql.Tx) error {
					r := usagehourly.New()
					for _, rec := range add {
						record(tx, rec)
						r.Add(rec)
						if i == 1 {
							if err := usagehourly.WriteOne(ctx, tx, db.Dialect, rec); err != nil {
								return err
							}
						}
					}
					if i == 1 {
						return nil
					}
					return r.Write(ctx, tx, db.Dialect)
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			rows := testenv.CheckHourly(t, db.SQL)
			if len(rows) != 5 {
				t.Fatalf("%d rows, want 5: %+v", len(rows), rows)
			}
		})
	}
}

func TestRollup_KeysInPrimaryKeyOrder(t *testing.T) {
	h := time.Date(2026, 12, 7, 20, 30, 0, 0, time.FixedZone("AST", 3*3600))
	r := usagehourly.New()
	for _, rec := range []usagehourly.Record{
		{Account: 2, Model: "a", Backend: "local", CreatedAt: h},
		{Account: 1, Model: "b", Backend: "local", CreatedAt: h},
		{Account: 1, Model: "a", Backend: "local", APIKeyID: 5, CreatedAt: h},
		{Account: 1, Model: "a", Backend: "local", APIKeyID: 3, CreatedAt: h.Add(40 * time.Minute), Status: "ok"},
		{Account: 1, Model: "a", Backend: "cloud", APIKeyID: 5, CreatedAt: h},
		{Account: 1, Model: "a", Backend: "local", APIKeyID: 3, CreatedAt: h.Add(-10 * time.Minute), Credits: 2},
	} {
		r.Add(rec)
	}
	var got []string
	for _, k := range r.Keys() {
		if k.Hour.Location() != time.UTC || k.Hour.Minute() != 0 {
			t.Errorf("key hour %v, want a whole UTC hour", k.Hour)
		}
		got = append(got, fmt.Sprintf("%d %s %s %s %d", k.Account, k.Hour.Format("15"), k.Model, k.Backend, k.APIKeyID))
	}
	want := []string{"1 17 a cloud 5", "1 17 a local 3", "1 17 a local 5", "1 17 b local 0", "1 18 a local 3", "2 17 a local 0"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("keys %q, want %q", got, want)
	}
	if s := r.Sums(r.Keys()[1]); s.Requests != 1 || s.Credits != 2 || s.Errors != 1 {
		t.Fatalf("sums %+v, want one request, 2 credits, one error (no status is not ok)", s)
	}
}
