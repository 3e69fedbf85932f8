package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"sync/atomic"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/admin"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// AuditHook runs in the transaction of a change right after its audit row
// is written; an error it returns rolls the whole transaction back.
type AuditHook func(ctx context.Context, a ledger.Audit) error

// hooks are the Store's test seams; none is set in production.
type hooks struct {
	afterAudit atomic.Pointer[AuditHook]
}

// SetAuditHook installs h for every later audit insert (nil removes it).
// Tests use it to fail a change after its audit insert and prove that
// neither is left: an audit row never exists without its change, nor a
// change without its audit row.
func (s *Store) SetAuditHook(h AuditHook) {
	if h == nil {
		s.hooks.afterAudit.Store(nil)
		return
	}
	s.hooks.afterAudit.Store(&h)
}

// insertAudit writes an audit_log row in the caller's transaction. Every
// change an admin or an operator makes writes its row here, in the
// change's own transaction.
func (s *Store) insertAudit(ctx context.Context, a ledger.Audit, now time.Time) error {
	details, err := json.Marshal(a.Details)
	if err != nil {
		return fmt.Errorf("audit details: %w", err)
	}
	if a.Details == nil {
		details = []byte("{}")
	}
	var actorUser any
	if a.ActorUserID != 0 {
		actorUser = int64(a.ActorUserID)
	}
	if err := s.conn(ctx).Exec(`INSERT INTO audit_log (actor_user_id, actor, action, target_type, target_id, details, ip, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		actorUser, a.Actor, a.Action, a.TargetType, a.TargetID, string(details), a.IP, now).Error; err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	if s.hooks != nil {
		if h := s.hooks.afterAudit.Load(); h != nil {
			return (*h)(ctx, a)
		}
	}
	return nil
}

// withBalance is a with the durable balance before and after its change
// in Details["before"] and Details["after"] (see ledger.Audit.Balance).
// The maps are copied: a retried transaction starts from the caller's.
func withBalance(a ledger.Audit, before, after resayil.Credits) ledger.Audit {
	d := maps.Clone(a.Details)
	if d == nil {
		d = map[string]any{}
	}
	for key, v := range map[string]resayil.Credits{"before": before, "after": after} {
		m := map[string]any{}
		if old, ok := d[key].(map[string]any); ok {
			m = maps.Clone(old)
		}
		m["balance_credits"] = int64(v)
		d[key] = m
	}
	a.Details = d
	return a
}

// durableBalance reads wallets.balance_credits of the account (0 without
// a wallet row).
func (s *Store) durableBalance(ctx context.Context, account resayil.AccountID) (resayil.Credits, error) {
	var b []int64
	if err := s.conn(ctx).Raw(`SELECT balance_credits FROM wallets WHERE account_id = ?`, int64(account)).Scan(&b).Error; err != nil {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	if len(b) == 0 {
		return 0, nil
	}
	return resayil.Credits(b[0]), nil
}

// latestOf returns, of the subscriptions, the one that expires last with
// its plan; nil for none.
func (s *Store) latestOf(ctx context.Context, ids []int64) (*ledger.Subscription, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []struct {
		ID        int64
		AccountID int64
		PlanID    int64
		Code      string
		Name      string
		Status    string
		Source    string
		StartsAt  time.Time
		ExpiresAt time.Time
	}
	if err := s.conn(ctx).Raw(`SELECT s.id, s.account_id, s.plan_id, p.code, p.name, s.status, s.source, s.starts_at, s.expires_at
FROM subscriptions s JOIN subscription_plans p ON p.id = s.plan_id
WHERE s.id IN ? ORDER BY s.expires_at DESC, s.id DESC LIMIT 1`, ids).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read ended subscription: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	r := rows[0]
	return &ledger.Subscription{ID: r.ID, Account: resayil.AccountID(r.AccountID),
		Plan:   ledger.Plan{ID: r.PlanID, Code: resayil.TierCode(r.Code), Name: r.Name},
		Status: resayil.SubscriptionStatus(r.Status), Source: resayil.SubscriptionSource(r.Source),
		StartsAt: r.StartsAt.UTC(), ExpiresAt: r.ExpiresAt.UTC()}, nil
}

// auditLogQuery builds the audit log's statement (TestAuditLog_UsesIndexes
// EXPLAINs it).
func auditLogQuery(q admin.AuditQuery) (string, []any) {
	var w sqlConds
	if q.ActorUserID != 0 {
		w.add("actor_user_id = ?", int64(q.ActorUserID))
	}
	if q.Actor != "" {
		w.add("actor = ?", q.Actor)
	}
	if q.Action != "" {
		w.add("action = ?", q.Action)
	}
	if q.TargetType != "" {
		w.add("target_type = ?", q.TargetType)
	}
	if q.TargetID != "" {
		w.add("target_id = ?", q.TargetID)
	}
	if q.From != nil {
		w.add("created_at >= ?", *q.From)
	}
	if q.To != nil {
		w.add("created_at < ?", *q.To)
	}
	if c := q.After; c != nil {
		w.add("(created_at < ? OR (created_at = ? AND id < ?))", c.At, c.At, c.ID)
	}
	stmt := `SELECT id, actor_user_id, actor, action, target_type, target_id, details, ip, created_at FROM audit_log` +
		w.String() + ` ORDER BY created_at DESC, id DESC LIMIT ?`
	return stmt, append(w.args, q.Limit+1)
}

type auditRow struct {
	ID          int64
	ActorUserID *int64
	Actor       string
	Action      string
	TargetType  string
	TargetID    string
	Details     string
	IP          string
	CreatedAt   time.Time
}

// AuditLog implements admin.ActionStore: newest first by (created_at,
// id). An actor's rows are read through ix_audit_log_actor (actor_user_id,
// created_at), an action's through ix_audit_log_action (action,
// created_at), a target's through ix_audit_log_target; each index ends
// with the primary key in both dialects, so the order needs no sort when
// one of them serves the filter.
func (s *Store) AuditLog(ctx context.Context, q admin.AuditQuery) ([]admin.AuditEntry, error) {
	stmt, args := auditLogQuery(q)
	var rows []auditRow
	if err := s.conn(ctx).Raw(stmt, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out := make([]admin.AuditEntry, len(rows))
	for i, r := range rows {
		d := json.RawMessage(r.Details)
		var obj map[string]json.RawMessage
		switch {
		case json.Unmarshal(d, &obj) == nil && obj != nil:
		case r.Details == "null":
			// Rows of a change with no details, written before they
			// were stored as {}.
			d = json.RawMessage("{}")
		default:
			// Never expected (every writer marshals an object); shown
			// as text rather than breaking the page.
			d, _ = json.Marshal(map[string]any{"text": r.Details})
		}
		out[i] = admin.AuditEntry{ID: r.ID, ActorUserID: r.ActorUserID, Actor: r.Actor, Action: r.Action,
			TargetType: r.TargetType, TargetID: r.TargetID, Details: d, IP: r.IP, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}
