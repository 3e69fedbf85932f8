package store

import (
	"context"
	"fmt"

	"github.com/resayil/portal/portal-api/internal/admin"
	"github.com/resayil/portal/portal-api/internal/billing"
)

var _ admin.PaymentsStore = (*Store)(nil)

// AdminPayments implements admin.PaymentsStore: newest first by id (ids
// grow with created_at), on ix_payments_status or ix_payments_account
// when filtered by them.
func (s *Store) AdminPayments(ctx context.Context, q admin.PaymentQuery) ([]billing.Payment, error) {
	var w sqlConds
	if q.Status != "" {
		w.add("status = ?", string(q.Status))
	}
	if q.Kind != "" {
		w.add("kind = ?", string(q.Kind))
	}
	if q.Account != 0 {
		w.add("account_id = ?", int64(q.Account))
	}
	if q.From != nil {
		w.add("created_at >= ?", q.From.UTC())
	}
	if q.To != nil {
		w.add("created_at < ?", q.To.UTC())
	}
	if q.Before != 0 {
		w.add("id < ?", int64(q.Before))
	}
	var rows []paymentRow
	err := s.conn(ctx).Raw(`SELECT `+paymentColumns+` FROM payments`+w.String()+` ORDER BY id DESC LIMIT ?`,
		append(w.args, q.Limit+1)...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	out := make([]billing.Payment, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// AdminPayment implements admin.PaymentsStore.
func (s *Store) AdminPayment(ctx context.Context, id billing.PaymentID) (billing.Payment, error) {
	return paymentWhere(ctx, s, where("id = ?", int64(id)))
}
