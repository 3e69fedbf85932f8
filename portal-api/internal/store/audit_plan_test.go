package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/admin"
)

// TestAuditLog_UsesIndexes EXPLAINs the audit log's reads by actor and by
// action, first page and later pages, on a table of several actors and
// actions: each reads ix_audit_log_actor or ix_audit_log_action in its
// order, without sorting.
func TestAuditLog_UsesIndexes(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			ctx := context.Background()
			now := dbtime.Of(time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC))
			tx, err := db.SQL.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			actions := []string{"credits.adjust", "plan.set", "account.disable", "account.enable", "payment.paid", "delivery.retry"}
			for i := range 3000 {
				at := now.Add(time.Duration(i-3000) * time.Minute)
				var actor any
				if i%3 != 0 {
					actor = int64(i%20 + 1)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (actor_user_id, actor, action, target_type, target_id, details, ip, created_at)
VALUES (?, '', ?, 'account', ?, '{}', '', ?)`, actor, actions[i%len(actions)], fmt.Sprint(i%200), at); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			analyze := "ANALYZE"
			if db.Dialect == migrations.MySQL {
				analyze = "ANALYZE TABLE audit_log"
			}
			if _, err := db.SQL.ExecContext(ctx, analyze); err != nil {
				t.Fatal(err)
			}
			later := &admin.AuditCursor{At: now.Add(-1000 * time.Minute), ID: 2000}
			for _, tc := range []struct {
				name  string
				q     admin.AuditQuery
				index string
			}{
				{"by actor", admin.AuditQuery{ActorUserID: 7, Limit: 50}, "ix_audit_log_actor"},
				{"by actor, a later page", admin.AuditQuery{ActorUserID: 7, After: later, Limit: 50}, "ix_audit_log_actor"},
				{"by action", admin.AuditQuery{Action: "plan.set", Limit: 50}, "ix_audit_log_action"},
				{"by action, a later page", admin.AuditQuery{Action: "plan.set", After: later, Limit: 50}, "ix_audit_log_action"},
			} {
				q, args := auditLogQuery(tc.q)
				plan := explain(t, db, q, args)
				if problem := indexProblem(db.Dialect, plan, tc.index); problem != "" {
					t.Errorf("%s: %s\nplan:\n%s", tc.name, problem, strings.Join(plan, "\n"))
				}
			}

			// The reads themselves: newest first, and a cursor's page
			// continues exactly after it.
			s := New(db)
			first, err := s.AuditLog(ctx, admin.AuditQuery{ActorUserID: resayil.UserID(7), Limit: 3})
			if err != nil || len(first) != 4 {
				t.Fatalf("first page: %d rows, %v", len(first), err)
			}
			for i := 1; i < len(first); i++ {
				if !first[i].CreatedAt.Before(first[i-1].CreatedAt) || first[i].ActorUserID == nil || *first[i].ActorUserID != 7 {
					t.Fatalf("not newest first by actor 7: %+v", first)
				}
			}
			next, err := s.AuditLog(ctx, admin.AuditQuery{ActorUserID: 7, After: &admin.AuditCursor{At: first[2].CreatedAt, ID: first[2].ID}, Limit: 1})
			if err != nil || len(next) != 2 || next[0].ID != first[3].ID {
				t.Fatalf("next page: %+v, %v; want it to start at %d", next, err, first[3].ID)
			}
		})
	}
}
