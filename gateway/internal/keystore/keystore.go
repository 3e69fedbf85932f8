// Package keystore is the SQL side of gateway API-key authentication: the
// keyauth.KeyStore lookup (one indexed SELECT per cache miss), the plan
// loader behind keyauth.PlanSet, and the batched last-used update behind
// keyauth.LastUsedFlusher. It runs the same SQL on SQLite and MySQL/MariaDB,
// passing the current time as a parameter (never NOW()) so that both
// dialects compare timestamps the same way and tests can move the clock.
package keystore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
)

// Config tunes a Store; the zero value is ready for production.
type Config struct {
	// Now is the clock that decides which subscription is active (default
	// time.Now).
	Now func() time.Time
}

// Store reads API keys and plans from the portal's database. It is safe for
// concurrent use.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

var (
	_ keyauth.KeyStore    = (*Store)(nil)
	_ keyauth.PlanLoader  = (*Store)(nil)
	_ keyauth.UsageMarker = (*Store)(nil)
)

// New returns a Store on db, which must be migrated. Only db.SQL is used.
func New(db *database.DB, cfg Config) *Store {
	s := &Store{db: db.SQL, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// clock is the current time as stored (dbtime.Of).
func (s *Store) clock() time.Time { return dbtime.Of(s.now()) }

// planColumns are the columns of subscription_plans a resayil.Plan needs,
// in scan order.
const planColumns = "code, name, rate_limit_per_minute, model_classes, cloud_allowed, enterprise_models, queue_priority, sort_order"

// lookupSQL is the whole key lookup in one statement: the key by its unique
// hash (uq_api_keys_hash), its user and the user's own account (a disabled
// user or account stops every key of the user), the account the key draws
// on (a team's for a team member), that account's active subscription
// (ix_subscriptions_account, which also yields the newest first, since
// both dialects end a secondary index with the primary key; if several
// overlap, the newest, as a purchase of another plan starts now) with its
// plan, and the Basic plan (uq_subscription_plans_code) for an account
// without one. Every other join is by primary key. The unary plus on
// expires_at keeps SQLite's planner (no statistics) from preferring
// ix_subscriptions_expiry, which would scan every account's live
// subscriptions; MySQL's parser drops it. TestLookupKey_UsesIndexes checks
// both plans.
const lookupSQL = `SELECT k.id, k.user_id, k.account_id, s.expires_at,
  p.code, p.name, p.rate_limit_per_minute, p.model_classes, p.cloud_allowed, p.enterprise_models, p.queue_priority, p.sort_order,
  b.code, b.name, b.rate_limit_per_minute, b.model_classes, b.cloud_allowed, b.enterprise_models, b.queue_priority, b.sort_order
FROM api_keys k
JOIN users u ON u.id = k.user_id
JOIN accounts ua ON ua.id = u.account_id
JOIN accounts a ON a.id = k.account_id
LEFT JOIN subscriptions s ON s.id = (
  SELECT s2.id FROM subscriptions s2
  WHERE s2.account_id = k.account_id AND s2.status = 'active' AND s2.ended_at IS NULL
    AND s2.starts_at <= ? AND +s2.expires_at > ?
  ORDER BY s2.id DESC
  LIMIT 1)
LEFT JOIN subscription_plans p ON p.id = s.plan_id
LEFT JOIN subscription_plans b ON b.code = 'basic'
WHERE k.key_hash = ? AND k.revoked_at IS NULL AND u.disabled_at IS NULL
  AND ua.status = 'active' AND a.status = 'active'`

// LookupKey implements keyauth.KeyStore: the principal of the key whose hash
// is keyHash, or resayil.ENOTFOUND when the key is unknown or revoked or its
// user or account is disabled. Without an active subscription the principal
// has the Basic plan and Subscribed false.
func (s *Store) LookupKey(ctx context.Context, keyHash string) (resayil.Principal, error) {
	if !isHash(keyHash) {
		return resayil.Principal{}, notFound()
	}
	now := s.clock()
	var (
		p        resayil.Principal
		expires  sql.NullTime
		sub, bas nullPlan
	)
	dest := append([]any{&p.KeyID, &p.UserID, &p.Account, &expires}, sub.dest()...)
	dest = append(dest, bas.dest()...)
	err := s.db.QueryRowContext(ctx, lookupSQL, now, now, keyHash).Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return resayil.Principal{}, notFound()
	}
	if err != nil {
		return resayil.Principal{}, fmt.Errorf("look up api key: %w", err)
	}
	switch {
	case sub.code.Valid && expires.Valid:
		p.Plan, p.PlanExpiresAt, p.Subscribed = sub.plan(), expires.Time.UTC(), true
	case bas.code.Valid:
		p.Plan = bas.plan()
	default:
		p.Plan = keyauth.DefaultBasicPlan()
	}
	return p, nil
}

// Plans implements keyauth.PlanLoader: every active plan, cheapest first.
func (s *Store) Plans(ctx context.Context) ([]resayil.Plan, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT `+planColumns+` FROM subscription_plans WHERE active <> 0 ORDER BY sort_order, id`)
	if err != nil {
		return nil, fmt.Errorf("load plans: %w", err)
	}
	defer rows.Close()
	var plans []resayil.Plan
	for rows.Next() {
		var np nullPlan
		if err := rows.Scan(np.dest()...); err != nil {
			return nil, fmt.Errorf("load plans: %w", err)
		}
		plans = append(plans, np.plan())
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load plans: %w", err)
	}
	return plans, nil
}

// markUsedBatch bounds the ids of one UPDATE, well under every driver's
// placeholder limit.
const markUsedBatch = 500

// MarkUsed implements keyauth.UsageMarker with one UPDATE per 500 ids. A
// last_used_at already later than at (another gateway flushed after us) is
// left alone.
func (s *Store) MarkUsed(ctx context.Context, ids []resayil.APIKeyID, at time.Time) error {
	at = dbtime.Of(at)
	for len(ids) > 0 {
		n := min(len(ids), markUsedBatch)
		args := make([]any, 0, n+2)
		args = append(args, at)
		for _, id := range ids[:n] {
			args = append(args, int64(id))
		}
		args = append(args, at)
		q := `UPDATE api_keys SET last_used_at = ? WHERE id IN (?` + strings.Repeat(", ?", n-1) +
			`) AND (last_used_at IS NULL OR last_used_at < ?)`
		if _, err := s.db.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("mark api keys used: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

// nullPlan scans the plan columns of a LEFT JOIN, which are all NULL when
// nothing matched.
type nullPlan struct {
	code, name, classes            sql.NullString
	rate, priority, sortOrder      sql.NullInt64
	cloudAllowed, enterpriseModels sql.NullBool
}

func (n *nullPlan) dest() []any {
	return []any{&n.code, &n.name, &n.rate, &n.classes, &n.cloudAllowed, &n.enterpriseModels, &n.priority, &n.sortOrder}
}

func (n *nullPlan) plan() resayil.Plan {
	return resayil.Plan{
		Code:               resayil.TierCode(n.code.String),
		Name:               n.name.String,
		RateLimitPerMinute: int(n.rate.Int64),
		Classes:            parseClasses(n.classes.String),
		CloudAllowed:       n.cloudAllowed.Bool,
		EnterpriseModels:   n.enterpriseModels.Bool,
		QueuePriority:      int(n.priority.Int64),
		SortOrder:          int(n.sortOrder.Int64),
	}
}

// parseClasses reads subscription_plans.model_classes, a comma list such as
// "small,medium".
func parseClasses(s string) []resayil.ModelClass {
	var out []resayil.ModelClass
	for c := range strings.SplitSeq(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, resayil.ModelClass(c))
		}
	}
	return out
}

// isHash reports whether s is what api_keys.key_hash holds: 64 lowercase
// hex digits. Anything else cannot match, so it is not worth a query.
func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func notFound() error {
	return resayil.Errorf(resayil.ENOTFOUND, "The API key does not exist.")
}
