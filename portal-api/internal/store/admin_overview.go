package store

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/usagehourly"
	"github.com/resayil/portal/portal-api/internal/admin"
)

var _ admin.OverviewStore = (*Store)(nil)

// The overview's reads by time, each on an index of its time column
// (TestOverviewQueries_UseIndexes).
const (
	ledgerSumSQL = `SELECT COALESCE(SUM(CASE WHEN amount_credits > 0 THEN amount_credits ELSE 0 END), 0) AS granted,
  COALESCE(SUM(CASE WHEN amount_credits < 0 THEN -amount_credits ELSE 0 END), 0) AS debited
FROM credit_ledger WHERE created_at >= ? AND created_at <= ?`
	hourlyCreditsSQL  = `SELECT COALESCE(SUM(credits), 0) FROM usage_hourly WHERE hour_start >= ? AND hour_start <= ?`
	hourlyRequestsSQL = `SELECT backend, COALESCE(SUM(requests), 0) AS requests, COALESCE(SUM(errors), 0) AS errors
FROM usage_hourly WHERE hour_start >= ? AND hour_start <= ? GROUP BY backend`
)

// UserCounts implements admin.OverviewStore in one pass over the users.
func (s *Store) UserCounts(ctx context.Context, new7, new30 time.Time) (admin.UserCounts, error) {
	var row struct {
		Total, New7, New30, Disabled int64
	}
	err := s.conn(ctx).Raw(`SELECT COUNT(*) AS total,
  COALESCE(SUM(CASE WHEN u.created_at >= ? THEN 1 ELSE 0 END), 0) AS new7,
  COALESCE(SUM(CASE WHEN u.created_at >= ? THEN 1 ELSE 0 END), 0) AS new30,
  COALESCE(SUM(CASE WHEN u.disabled_at IS NOT NULL OR a.status = 'disabled' THEN 1 ELSE 0 END), 0) AS disabled
FROM users u JOIN accounts a ON a.id = u.account_id`, new7.UTC(), new30.UTC()).Scan(&row).Error
	if err != nil {
		return admin.UserCounts{}, err
	}
	return admin.UserCounts{Total: row.Total, New7d: row.New7, New30d: row.New30, Disabled: row.Disabled}, nil
}

// ActiveSubscriptions implements admin.OverviewStore
// (ix_subscriptions_expiry).
func (s *Store) ActiveSubscriptions(ctx context.Context, now time.Time) (map[string]int64, error) {
	var rows []struct {
		Code string
		N    int64
	}
	err := s.conn(ctx).Raw(`SELECT sp.code AS code, COUNT(DISTINCT s.account_id) AS n
FROM subscriptions s JOIN subscription_plans sp ON sp.id = s.plan_id
WHERE s.status = 'active' AND s.expires_at > ? AND s.starts_at <= ?
GROUP BY sp.code`, now.UTC(), now.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.Code] = r.N
	}
	return out, nil
}

// Credits implements admin.OverviewStore: the ledger by time
// (ix_credit_ledger_time) and usage by hour (ix_usage_hourly_hour).
func (s *Store) Credits(ctx context.Context, from, to time.Time) (admin.CreditTotals, error) {
	var led struct{ Granted, Debited int64 }
	err := s.conn(ctx).Raw(ledgerSumSQL, from.UTC(), to.UTC()).Scan(&led).Error
	if err != nil {
		return admin.CreditTotals{}, fmt.Errorf("sum ledger: %w", err)
	}
	var used int64
	err = s.conn(ctx).Raw(hourlyCreditsSQL, usagehourly.HourOf(from), to.UTC()).Scan(&used).Error
	if err != nil {
		return admin.CreditTotals{}, fmt.Errorf("sum usage: %w", err)
	}
	return admin.CreditTotals{Granted: led.Granted, Debited: led.Debited, Consumed: used}, nil
}

// Requests implements admin.OverviewStore (ix_usage_hourly_hour).
func (s *Store) Requests(ctx context.Context, from, to time.Time) (map[string]admin.BackendRequests, error) {
	var rows []struct {
		Backend          string
		Requests, Errors int64
	}
	err := s.conn(ctx).Raw(hourlyRequestsSQL, usagehourly.HourOf(from), to.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := map[string]admin.BackendRequests{}
	for _, r := range rows {
		out[r.Backend] = admin.BackendRequests{Requests: r.Requests, Errors: r.Errors}
	}
	return out, nil
}

// DeliveryBacklog implements admin.OverviewStore (ix_deliveries_due,
// whose first column is the status).
func (s *Store) DeliveryBacklog(ctx context.Context) (admin.Backlog, error) {
	var rows []struct {
		Status string
		N      int64
	}
	err := s.conn(ctx).Raw(`SELECT status, COUNT(*) AS n FROM notification_deliveries
WHERE status IN ('pending', 'sending', 'failed') GROUP BY status`).Scan(&rows).Error
	if err != nil {
		return admin.Backlog{}, err
	}
	var b admin.Backlog
	for _, r := range rows {
		switch r.Status {
		case "pending":
			b.Pending = r.N
		case "sending":
			b.Sending = r.N
		case "failed":
			b.Failed = r.N
		}
	}
	return b, nil
}
