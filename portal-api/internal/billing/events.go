package billing

import (
	"context"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// EventSource says what brought a payment event.
type EventSource string

// Event sources: MyFatoorah's answer asked for by the browser's return,
// by a signed webhook, by the re-check job; or an admin's resolution.
const (
	SourceReturn  EventSource = "browser_return"
	SourceWebhook EventSource = "webhook"
	SourceRecheck EventSource = "recheck"
	SourceAdmin   EventSource = "admin"
)

// Decision is what was decided about a payment on an event.
type Decision string

// Decisions.
const (
	// DecisionCredited: the payment became paid and was credited, by this
	// event and no other.
	DecisionCredited Decision = "credited"
	// DecisionNeedsReview: reported paid but not matching our record.
	DecisionNeedsReview Decision = "needs_review"
	DecisionFailed      Decision = "failed"
	DecisionExpired     Decision = "expired"
	// DecisionRejected: an admin rejected a payment that needed review.
	DecisionRejected Decision = "rejected"
	// DecisionUnchanged: nothing changed (still pending, or settled
	// already by another event).
	DecisionUnchanged Decision = "unchanged"
)

// PaymentEvent is a payment_events row: what arrived about a payment and
// what was decided. History starts with the table's migration.
type PaymentEvent struct {
	ID      int64
	Payment PaymentID
	Source  EventSource
	// ProviderStatus, ProviderAmount (nil: none that could be read),
	// ProviderCurrency, InvoiceID and ProviderPaymentID are what
	// MyFatoorah's GetPaymentStatus answered (a webhook's ids when it was
	// not asked).
	ProviderStatus    string
	ProviderAmount    *resayil.Fils
	ProviderCurrency  string
	InvoiceID         string
	ProviderPaymentID string
	Decision          Decision
	StatusBefore      PaymentStatus
	StatusAfter       PaymentStatus
	// Detail says why (a mismatch, a cancellation, an admin's reason).
	Detail string
	// ActorUserID is the admin who resolved the payment, or 0.
	ActorUserID resayil.UserID
	CreatedAt   time.Time
}

// arrived is the event of MyFatoorah's answer st about payment p from src,
// before anything is decided.
func arrived(p Payment, src EventSource, st ProviderPayment) PaymentEvent {
	ev := PaymentEvent{Payment: p.ID, Source: src, ProviderStatus: st.Status, ProviderCurrency: st.Currency,
		InvoiceID: st.InvoiceID, StatusBefore: p.Status, StatusAfter: p.Status}
	if st.AmountKnown {
		a := st.Amount
		ev.ProviderAmount = &a
	}
	if t, ok := st.Succeeded(); ok {
		ev.ProviderPaymentID = t.PaymentID
	} else if t, ok := st.Last(); ok {
		ev.ProviderPaymentID = t.PaymentID
	}
	return ev
}

// decided returns ev with its decision and the statuses around it.
func (ev PaymentEvent) decided(d Decision, before, after PaymentStatus, detail string) PaymentEvent {
	ev.Decision, ev.StatusBefore, ev.StatusAfter = d, before, after
	if detail != "" {
		ev.Detail = truncate(detail, 255)
	}
	return ev
}

// recordEvent writes an event that changes nothing, in a transaction of
// its own.
func (s *Service) recordEvent(ctx context.Context, ev PaymentEvent) error {
	now := s.clock()
	return s.store.InTx(ctx, func(tx Tx) error { return tx.AddPaymentEvent(ctx, ev, now) })
}
