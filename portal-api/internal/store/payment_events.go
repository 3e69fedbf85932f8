package store

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/billing"
)

// paymentEventRow is a payment_events row.
type paymentEventRow struct {
	ID                 int64 `gorm:"primaryKey"`
	PaymentID          int64
	Source             string
	ProviderStatus     string
	ProviderAmountFils *int64
	ProviderCurrency   string
	InvoiceID          string
	ProviderPaymentID  string
	Decision           string
	StatusBefore       string
	StatusAfter        string
	Detail             string
	ActorUserID        *int64
	CreatedAt          time.Time
}

func (paymentEventRow) TableName() string { return "payment_events" }

func toPaymentEventRow(e billing.PaymentEvent, now time.Time) paymentEventRow {
	r := paymentEventRow{PaymentID: int64(e.Payment), Source: string(e.Source), ProviderStatus: clip(e.ProviderStatus, 32),
		ProviderCurrency: clip(e.ProviderCurrency, 8), InvoiceID: clip(e.InvoiceID, 64), ProviderPaymentID: clip(e.ProviderPaymentID, 64),
		Decision: string(e.Decision), StatusBefore: string(e.StatusBefore), StatusAfter: string(e.StatusAfter),
		Detail: clip(e.Detail, 255), CreatedAt: dbtime.Of(now)}
	if e.ProviderAmount != nil {
		a := int64(*e.ProviderAmount)
		r.ProviderAmountFils = &a
	}
	if e.ActorUserID != 0 {
		u := int64(e.ActorUserID)
		r.ActorUserID = &u
	}
	return r
}

func (r paymentEventRow) toDomain() billing.PaymentEvent {
	e := billing.PaymentEvent{ID: r.ID, Payment: billing.PaymentID(r.PaymentID), Source: billing.EventSource(r.Source),
		ProviderStatus: r.ProviderStatus, ProviderCurrency: r.ProviderCurrency, InvoiceID: r.InvoiceID, ProviderPaymentID: r.ProviderPaymentID,
		Decision: billing.Decision(r.Decision), StatusBefore: billing.PaymentStatus(r.StatusBefore), StatusAfter: billing.PaymentStatus(r.StatusAfter),
		Detail: r.Detail, CreatedAt: r.CreatedAt.UTC()}
	if r.ProviderAmountFils != nil {
		a := resayil.Fils(*r.ProviderAmountFils)
		e.ProviderAmount = &a
	}
	if r.ActorUserID != nil {
		e.ActorUserID = resayil.UserID(*r.ActorUserID)
	}
	return e
}

// AddPaymentEvent implements billing.Tx.
func (t billingTx) AddPaymentEvent(ctx context.Context, e billing.PaymentEvent, now time.Time) error {
	row := toPaymentEventRow(e, now)
	if err := t.s.conn(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("write event of payment %d: %w", e.Payment, err)
	}
	return nil
}

// PaymentEvents reads a payment's events, oldest first
// (ix_payment_events_payment).
func (s *Store) PaymentEvents(ctx context.Context, payment billing.PaymentID) ([]billing.PaymentEvent, error) {
	var rows []paymentEventRow
	if err := s.conn(ctx).Where("payment_id = ?", int64(payment)).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read events of payment %d: %w", payment, err)
	}
	out := make([]billing.PaymentEvent, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}
