package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/resayil/portal/pkg/resayil"
)

// ErrUnknownPayment means MyFatoorah's answer names no payment of ours: its
// CustomerReference and its InvoiceId are both unknown. Nothing changes.
var ErrUnknownPayment = resayil.Errorf(resayil.ENOTFOUND, "No payment of ours matches this MyFatoorah payment.")

// ErrBadSignature answers a webhook whose MyFatoorah-Signature is missing
// or wrong; nothing changes.
var ErrBadSignature = resayil.Errorf(resayil.EUNAUTHORIZED, "The webhook signature is missing or invalid.")

// WebhookEvent is a verified webhook, as far as billing needs it.
type WebhookEvent struct {
	// PaymentStatusChanged is true for MyFatoorah's event 1; billing
	// ignores every other event.
	PaymentStatusChanged bool
	// InvoiceID is Data.Invoice.Id.
	InvoiceID string
	// PaymentID is Data.Transaction.PaymentId.
	PaymentID string
}

// WebhookParser verifies and reads the provider's webhooks (the MyFatoorah
// adapter implements it with the webhook secret).
type WebhookParser interface {
	// ParseWebhook verifies the signature of body and reads it. A body
	// whose signature is missing or wrong is ErrBadSignature. An event
	// billing does not handle is returned with PaymentStatusChanged false.
	ParseWebhook(body []byte, signature string) (WebhookEvent, error)
}

// Return confirms a payment when MyFatoorah sends the browser back with
// ?paymentId=…: it asks GetPaymentStatus (KeyType PaymentId) and applies
// the answer. The browser's word is never trusted; the paymentId only says
// whom to ask. A payment already paid under that PaymentId is answered
// from the database without asking again.
//
// The route is unauthenticated, so anyone can make it ask MyFatoorah
// (whose quota is the merchant's): a paymentId that named no payment of
// ours is remembered for a while and answered without asking, and admit,
// called just before asking, may refuse (the caller's per-client
// throttle). A refusal is returned as it is, with a pending outcome: the
// payment, if real, is confirmed by its webhook or the re-check job.
// providerPaymentID must not alias a buffer the caller reuses (fasthttp's):
// an unknown one is kept.
func (s *Service) Return(ctx context.Context, providerPaymentID string, admit func(context.Context) error) (Outcome, error) {
	if providerPaymentID == "" {
		return Outcome{Result: ResultFailed}, ErrUnknownPayment
	}
	if p, err := s.store.PaymentByProviderPayment(ctx, providerPaymentID); err == nil && p.Status == StatusPaid {
		return Outcome{Payment: p, Result: ResultPaid}, nil
	}
	if s.unknown.has(providerPaymentID) {
		return Outcome{Result: ResultFailed}, ErrUnknownPayment
	}
	if admit != nil {
		if err := admit(ctx); err != nil {
			return Outcome{Result: ResultPending}, err
		}
	}
	out, err := s.confirm(ctx, StatusKey{Type: KeyPaymentID, Value: providerPaymentID}, nil, SourceReturn)
	if errors.Is(err, ErrUnknownPayment) {
		s.unknown.add(providerPaymentID)
	}
	return out, err
}

// Webhook handles a MyFatoorah webhook: it verifies the signature (V2), and
// for a payment-status event asks GetPaymentStatus about the invoice and
// applies the answer. The body's own claims (status, amount) are never
// used. Other events are acknowledged and ignored. An invoice of no
// payment of ours is acknowledged and changes nothing.
func (s *Service) Webhook(ctx context.Context, body []byte, signature string) (Outcome, error) {
	if s.webhooks == nil {
		return Outcome{}, ErrBadSignature
	}
	ev, err := s.webhooks.ParseWebhook(body, signature)
	if err != nil {
		return Outcome{}, err
	}
	if !ev.PaymentStatusChanged {
		return Outcome{}, nil
	}
	if ev.InvoiceID == "" {
		s.log.Warn("myfatoorah webhook without Invoice.Id ignored")
		return Outcome{}, nil
	}
	var known *Payment
	if p, err := s.store.PaymentByInvoice(ctx, ev.InvoiceID); err == nil {
		if p.Status == StatusPaid || p.Status == StatusNeedsReview || p.Status == StatusRejected {
			// Settled already: a redelivery asks MyFatoorah nothing. It is
			// signed, so recording it costs nothing an outsider can cause.
			if err := s.recordEvent(ctx, PaymentEvent{Payment: p.ID, Source: SourceWebhook, InvoiceID: ev.InvoiceID,
				ProviderPaymentID: ev.PaymentID, Decision: DecisionUnchanged, StatusBefore: p.Status, StatusAfter: p.Status,
				Detail: "webhook for a settled payment; MyFatoorah not asked"}); err != nil {
				return Outcome{}, fmt.Errorf("record webhook of payment %d: %w", p.ID, err)
			}
			return Outcome{Payment: p, Result: result(p, judgement{})}, nil
		}
		known = &p
	} else if resayil.ErrorCode(err) != resayil.ENOTFOUND {
		return Outcome{}, fmt.Errorf("find payment of invoice %s: %w", ev.InvoiceID, err)
	}
	out, err := s.confirm(ctx, StatusKey{Type: KeyInvoiceID, Value: ev.InvoiceID}, known, SourceWebhook)
	if errors.Is(err, ErrUnknownPayment) || errors.Is(err, ErrUnknownInvoice) {
		s.log.Warn("myfatoorah webhook for an invoice of no payment of ours ignored", "invoice_id", ev.InvoiceID, "payment_id", ev.PaymentID)
		return Outcome{}, nil
	}
	return out, err
}

// confirm asks MyFatoorah about an invoice and applies the answer to our
// payment: known, or else the one whose reference (or invoice) the answer
// names.
func (s *Service) confirm(ctx context.Context, key StatusKey, known *Payment, src EventSource) (Outcome, error) {
	st, err := s.gateway.PaymentStatus(ctx, key)
	if errors.Is(err, ErrUnknownInvoice) {
		return Outcome{Result: ResultFailed}, ErrUnknownPayment
	}
	if err != nil {
		return Outcome{Result: ResultPending}, err
	}
	p := known
	if p == nil {
		p, err = s.paymentOf(ctx, st)
		if err != nil {
			return Outcome{Result: ResultFailed}, err
		}
	}
	return s.apply(ctx, *p, st, src)
}

// paymentOf finds our payment for MyFatoorah's answer: by its
// CustomerReference, else by its InvoiceId (then judge holds it for review,
// since the reference is not ours).
func (s *Service) paymentOf(ctx context.Context, st ProviderPayment) (*Payment, error) {
	if st.Reference != "" {
		p, err := s.store.PaymentByReference(ctx, st.Reference)
		if err == nil {
			return &p, nil
		}
		if resayil.ErrorCode(err) != resayil.ENOTFOUND {
			return nil, err
		}
	}
	if st.InvoiceID != "" {
		p, err := s.store.PaymentByInvoice(ctx, st.InvoiceID)
		if err == nil {
			return &p, nil
		}
		if resayil.ErrorCode(err) != resayil.ENOTFOUND {
			return nil, err
		}
	}
	s.log.Warn("MyFatoorah payment of no payment of ours", "invoice_id", st.InvoiceID, "customer_reference", st.Reference)
	return nil, ErrUnknownPayment
}

// ResultURL is the SPA page the browser is sent to after the return.
func (s *Service) ResultURL(o Outcome) string {
	u := s.public + ResultPath + "?"
	if o.Payment.ID != 0 {
		u += fmt.Sprintf("payment=%d&", o.Payment.ID)
	}
	return u + "status=" + string(o.Result)
}
