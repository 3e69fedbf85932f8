package admin

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/billing"
)

// PaymentsStore is what the admin's payment pages read.
type PaymentsStore interface {
	// AdminPayments returns up to q.Limit+1 payments matching q, newest
	// first, with ids below q.Before (0: from the newest).
	AdminPayments(ctx context.Context, q PaymentQuery) ([]billing.Payment, error)
	// AdminPayment reads one payment; a missing one is resayil.ENOTFOUND.
	AdminPayment(ctx context.Context, id billing.PaymentID) (billing.Payment, error)
	// PaymentEvents reads a payment's events, oldest first.
	PaymentEvents(ctx context.Context, id billing.PaymentID) ([]billing.PaymentEvent, error)
}

// Payments answers the admin's payment pages.
type Payments struct {
	store PaymentsStore
}

// NewPayments builds the payment pages.
func NewPayments(store PaymentsStore) *Payments { return &Payments{store: store} }

// PaymentQuery is a page of the payments list; zero values do not filter.
type PaymentQuery struct {
	Status  billing.PaymentStatus
	Kind    billing.PaymentKind
	Account resayil.AccountID
	// From and To bound the creation time: From included, To excluded.
	From, To *time.Time
	Before   billing.PaymentID
	Limit    int
}

// PaymentParams is the payments list's query as a client sends it.
type PaymentParams struct {
	Status, Kind, Account, From, To, Cursor, Limit string
}

// PaymentPage is one page of payments; Next is 0 on the last.
type PaymentPage struct {
	Items []billing.Payment
	Next  billing.PaymentID
}

// Statuses a payment can have, for the filter.
var paymentStatuses = []billing.PaymentStatus{billing.StatusPending, billing.StatusPaid, billing.StatusFailed,
	billing.StatusExpired, billing.StatusNeedsReview, billing.StatusRejected}

// List validates p and returns one page of payments, newest first.
func (s *Payments) List(ctx context.Context, p PaymentParams) (PaymentPage, error) {
	q := PaymentQuery{Limit: DefaultLimit}
	var fields []resayil.FieldError
	bad := func(field, format string, args ...any) {
		fields = append(fields, resayil.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if p.Status != "" {
		ok := false
		for _, st := range paymentStatuses {
			ok = ok || string(st) == p.Status
		}
		if !ok {
			bad("status", "The status must be pending, paid, failed, expired, needs_review or rejected, got %q.", p.Status)
		}
		q.Status = billing.PaymentStatus(p.Status)
	}
	switch k := billing.PaymentKind(p.Kind); k {
	case "", billing.KindSubscription, billing.KindTopup:
		q.Kind = k
	default:
		bad("kind", "The kind must be subscription or topup, got %q.", p.Kind)
	}
	if p.Account != "" {
		n, err := strconv.ParseInt(p.Account, 10, 64)
		if err != nil || n <= 0 {
			bad("account_id", "The account id must be a positive whole number.")
		}
		q.Account = resayil.AccountID(n)
	}
	for _, b := range []struct {
		field, v string
		into     **time.Time
	}{{"from", p.From, &q.From}, {"to", p.To, &q.To}} {
		if b.v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, b.v)
		if err != nil {
			bad(b.field, "The %s time must be RFC 3339, such as 2026-01-31T21:00:00Z, got %q.", b.field, b.v)
			continue
		}
		t = t.UTC()
		*b.into = &t
	}
	if q.From != nil && q.To != nil && !q.To.After(*q.From) {
		bad("to", "The to time must be after the from time.")
	}
	if p.Limit != "" {
		if n, ok := parseLimit(p.Limit); ok {
			q.Limit = n
		} else {
			bad("limit", "%s", limitProblem)
		}
	}
	if p.Cursor != "" {
		n, err := strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || n <= 0 {
			bad("cursor", "The cursor is not one this list returned.")
		}
		q.Before = billing.PaymentID(n)
	}
	if len(fields) > 0 {
		return PaymentPage{}, resayil.Invalid(fields...)
	}
	rows, err := s.store.AdminPayments(ctx, q)
	if err != nil {
		return PaymentPage{}, fmt.Errorf("list payments: %w", err)
	}
	page := PaymentPage{Items: rows}
	if len(rows) > q.Limit {
		page.Items = rows[:q.Limit]
		page.Next = rows[q.Limit-1].ID
	}
	return page, nil
}

// PaymentDetail is a payment with its history.
type PaymentDetail struct {
	Payment billing.Payment
	// Events are oldest first; history starts with the payment_events
	// migration, so an older payment's first events are missing.
	Events []billing.PaymentEvent
}

// ErrPaymentNotFound answers an unknown payment id.
var ErrPaymentNotFound = billing.ErrPaymentNotFound

// Payment reads a payment and its events.
func (s *Payments) Payment(ctx context.Context, id billing.PaymentID) (PaymentDetail, error) {
	p, err := s.store.AdminPayment(ctx, id)
	if resayil.ErrorCode(err) == resayil.ENOTFOUND {
		return PaymentDetail{}, ErrPaymentNotFound
	}
	if err != nil {
		return PaymentDetail{}, fmt.Errorf("read payment: %w", err)
	}
	evs, err := s.store.PaymentEvents(ctx, id)
	if err != nil {
		return PaymentDetail{}, err
	}
	return PaymentDetail{Payment: p, Events: evs}, nil
}
