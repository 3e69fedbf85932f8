package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/usage"
	"github.com/resayil/portal/portal-api/internal/usage/usageseed"
)

// TestUsageQueries_UseIndexes EXPLAINs every usage read, as the store runs
// it, on tables with enough rows of several accounts that the planner has
// a choice: each must read its table through an index (the rollup's
// primary key, or ix_usage_account_time / ix_usage_account_model), and the
// receipts must come in index order, without sorting.
func TestUsageQueries_UseIndexes(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			ctx := context.Background()
			end := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
			// SQLite's planner does not weigh row counts as MariaDB's does;
			// fewer rows keep its (one transaction per INSERT) seeding short.
			records := 2000
			if db.Dialect == migrations.MySQL {
				records = 20000
			}
			for account := int64(1); account <= 3; account++ {
				if err := usageseed.Seed(ctx, db, usageseed.Options{Account: account, Records: records, End: end, Span: 90 * 24 * time.Hour, KeyIDs: []int64{0, 1, 2}}); err != nil {
					t.Fatal(err)
				}
			}
			analyze := "ANALYZE"
			if db.Dialect == migrations.MySQL {
				analyze = "ANALYZE TABLE usage_records, usage_hourly"
			}
			if _, err := db.SQL.ExecContext(ctx, analyze); err != nil {
				t.Fatal(err)
			}
			month, day := end.Add(-30*24*time.Hour), end.Add(-24*time.Hour)
			cursor := usage.Cursor{At: end.Add(-10 * 24 * time.Hour), ID: 12345}
			queries := map[string]func() (string, []any){
				"summary, 30 days":  func() (string, []any) { return hoursQuery(2, month, end) },
				"summary, 24 hours": func() (string, []any) { return hoursQuery(2, day, end) },
				"models, 30 days":   func() (string, []any) { return modelsQuery(2, month, end) },
				"receipts, first page": func() (string, []any) {
					return receiptsQuery(db.Dialect, 2, usage.Filter{}, usage.Cursor{}, 51)
				},
				"receipts, a later page": func() (string, []any) { return receiptsQuery(db.Dialect, 2, usage.Filter{}, cursor, 51) },
				"receipts of a model": func() (string, []any) {
					return receiptsQuery(db.Dialect, 2, usage.Filter{Model: "qwen2.5:7b"}, cursor, 51)
				},
				"receipts, every filter": func() (string, []any) {
					return receiptsQuery(db.Dialect, 2, usage.Filter{APIKeyID: 1, Backend: "cloud", Status: "ok"}, cursor, 51)
				},
				"export batch": func() (string, []any) {
					return receiptsQuery(db.Dialect, 2, usage.Filter{From: month, To: end}, cursor, usage.ExportBatch)
				},
			}
			for name, build := range queries {
				q, args := build()
				plan := explain(t, db, q, args)
				receipts := strings.HasPrefix(name, "receipts") || name == "export batch"
				if problem := planProblem(db.Dialect, plan, receipts, receipts && name != "receipts, first page"); problem != "" {
					t.Errorf("%s: %s\nplan:\n%s", name, problem, strings.Join(plan, "\n"))
				}
			}
		})
	}
}

// explain returns the plan's rows, one line each: MariaDB's EXPLAIN
// columns "table|type|key|Extra", SQLite's EXPLAIN QUERY PLAN details.
func explain(t *testing.T, db *database.DB, q string, args []any) []string {
	t.Helper()
	prefix := "EXPLAIN QUERY PLAN "
	if db.Dialect == migrations.MySQL {
		prefix = "EXPLAIN "
	}
	rows, err := db.SQL.Query(prefix+q, args...)
	if err != nil {
		t.Fatalf("explain: %v\n%s", err, q)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		get := func(name string) string {
			for i, c := range cols {
				if strings.EqualFold(c, name) {
					return vals[i].String
				}
			}
			return ""
		}
		if db.Dialect == migrations.MySQL {
			out = append(out, fmt.Sprintf("%s|%s|%s|%s", get("table"), get("type"), get("key"), get("Extra")))
		} else {
			out = append(out, get("detail"))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// planProblem says what is wrong with a plan, or "". An ordered plan must
// read the receipts in index order; a bounded one (after a cursor, or in
// a range of time) must start its index range at the bound, not skip to
// it row by row.
func planProblem(d migrations.Dialect, plan []string, ordered, bounded bool) string {
	for _, line := range plan {
		if d == migrations.MySQL {
			f := strings.Split(line, "|")
			table, typ, key, extra := f[0], f[1], f[2], f[3]
			if table != "r" && table != "k" && table != "usage_hourly" {
				continue
			}
			if key == "" || typ == "ALL" || typ == "index" {
				return fmt.Sprintf("%s is read without an index (type %s)", table, typ)
			}
			if ordered && strings.Contains(extra, "filesort") {
				return "the receipts are sorted instead of read in index order"
			}
			if bounded && table == "r" && typ != "range" {
				return fmt.Sprintf("the receipts are read by %s, not a range from the cursor", typ)
			}
			continue
		}
		if (strings.HasPrefix(line, "SCAN ") || strings.HasPrefix(line, "SEARCH ")) && !strings.Contains(line, " USING ") {
			return "a table is read without an index: " + line
		}
		if strings.HasPrefix(line, "SCAN ") {
			return "a whole index is scanned: " + line
		}
		if ordered && strings.Contains(line, "TEMP B-TREE FOR ORDER BY") {
			return "the receipts are sorted instead of read in index order"
		}
		if bounded && strings.HasPrefix(line, "SEARCH r ") && !strings.Contains(line, "created_at<") {
			return "the receipts are not a range from the cursor: " + line
		}
	}
	return ""
}
