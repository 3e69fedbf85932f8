package store

import (
	"context"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/admin"
)

// revenueFrom reads paid payments with their plan's code
// (ix_payments_paid): revenue counts by paid time, so a late payment
// (paid after it failed or expired) counts when it was paid.
const revenueFrom = ` FROM payments p LEFT JOIN subscription_plans sp ON sp.id = p.plan_id
WHERE p.status = 'paid' AND p.paid_at >= ?`

const (
	revenueSumsSQL = `SELECT p.kind AS kind, COALESCE(sp.code, '') AS tier, COALESCE(SUM(p.amount_fils), 0) AS fils, COUNT(*) AS payments` +
		revenueFrom + ` AND p.paid_at <= ? GROUP BY p.kind, sp.code`
	paidPaymentsSQL = `SELECT p.paid_at AS paid_at, p.kind AS kind, COALESCE(sp.code, '') AS tier, p.amount_fils AS amount_fils` +
		revenueFrom + ` AND p.paid_at < ? ORDER BY p.paid_at, p.id`
)

// RevenueSums implements admin.OverviewStore.
func (s *Store) RevenueSums(ctx context.Context, from, to time.Time) ([]admin.RevenueSum, error) {
	var rows []struct {
		Kind     string
		Tier     string
		Fils     int64
		Payments int64
	}
	err := s.conn(ctx).Raw(revenueSumsSQL, from.UTC(), to.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]admin.RevenueSum, len(rows))
	for i, r := range rows {
		out[i] = admin.RevenueSum{Kind: r.Kind, Tier: r.Tier, Amount: resayil.Fils(r.Fils), Payments: r.Payments}
	}
	return out, nil
}

// PaidPayments implements admin.OverviewStore.
func (s *Store) PaidPayments(ctx context.Context, from, to time.Time) ([]admin.PaidPayment, error) {
	var rows []struct {
		PaidAt     time.Time
		Kind       string
		Tier       string
		AmountFils int64
	}
	err := s.conn(ctx).Raw(paidPaymentsSQL, from.UTC(), to.UTC()).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]admin.PaidPayment, len(rows))
	for i, r := range rows {
		out[i] = admin.PaidPayment{PaidAt: r.PaidAt.UTC(), Kind: r.Kind, Tier: r.Tier, Amount: resayil.Fils(r.AmountFils)}
	}
	return out, nil
}
