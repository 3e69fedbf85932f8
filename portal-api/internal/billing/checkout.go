package billing

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/resayil/portal/pkg/resayil"
)

// Plans lists the plans on sale, cheapest first.
func (s *Service) Plans(ctx context.Context) ([]Plan, error) {
	return s.store.Plans(ctx, true)
}

// Packs lists the top-up packs on sale, smallest first.
func (s *Service) Packs(ctx context.Context) ([]Pack, error) {
	return s.store.Packs(ctx, true)
}

// Buyer is who checks out: the logged-in user and the account that pays.
type Buyer struct {
	User    resayil.UserID
	Account resayil.AccountID
	Name    string
	Locale  resayil.Locale
}

// CheckoutRequest is a purchase: a plan (subscription) or a pack (top-up).
type CheckoutRequest struct {
	Kind   PaymentKind
	PlanID int64
	PackID int64
}

// Validate reports what is wrong with the request, as field errors.
func (r CheckoutRequest) Validate() error {
	switch r.Kind {
	case KindSubscription:
		if r.PlanID <= 0 {
			return invalid("plan_id", "Choose a plan: plan_id is required for a subscription.")
		}
		if r.PackID != 0 {
			return invalid("pack_id", "A subscription takes a plan_id, not a pack_id.")
		}
	case KindTopup:
		if r.PackID <= 0 {
			return invalid("pack_id", "Choose a top-up pack: pack_id is required for a top-up.")
		}
		if r.PlanID != 0 {
			return invalid("plan_id", "A top-up takes a pack_id, not a plan_id.")
		}
	default:
		return invalid("kind", "Must be subscription or topup.")
	}
	return nil
}

// Checkout starts a payment: it writes the pending payment row first (our
// reference, the price in fils, KWD), then creates the MyFatoorah invoice
// carrying that reference, expiring with the row, and records its
// InvoiceId and URL. When MyFatoorah cannot be reached or refuses, the row
// is marked failed and the error is a *ProviderError (the API answers
// 502). The returned payment's PaymentURL is where to send the buyer.
func (s *Service) Checkout(ctx context.Context, b Buyer, req CheckoutRequest) (Payment, error) {
	if err := req.Validate(); err != nil {
		return Payment{}, err
	}
	now := s.clock()
	p := Payment{
		Reference: newReference(), Account: b.Account, User: b.User, Kind: req.Kind,
		Currency: Currency, Status: StatusPending, ExpiresAt: now.Add(s.invoiceTTL), CreatedAt: now, UpdatedAt: now,
	}
	switch req.Kind {
	case KindSubscription:
		plan, err := s.store.Plan(ctx, req.PlanID)
		if resayil.ErrorCode(err) == resayil.ENOTFOUND || (err == nil && !plan.Active) {
			return Payment{}, invalid("plan_id", "There is no plan with this id on sale.")
		}
		if err != nil {
			return Payment{}, fmt.Errorf("find plan: %w", err)
		}
		p.PlanID, p.Amount, p.Credits = plan.ID, plan.Price, plan.Credits
	case KindTopup:
		pack, err := s.store.Pack(ctx, req.PackID)
		if resayil.ErrorCode(err) == resayil.ENOTFOUND || (err == nil && !pack.Active) {
			return Payment{}, invalid("pack_id", "There is no top-up pack with this id on sale.")
		}
		if err != nil {
			return Payment{}, fmt.Errorf("find pack: %w", err)
		}
		p.PackID, p.Amount, p.Credits = pack.ID, pack.Price, pack.Credits
	}
	if p.Amount <= 0 {
		return Payment{}, resayil.Errorf(resayil.ECONFLICT, "This item has no price and cannot be bought.")
	}
	p, err := s.store.CreatePayment(ctx, p)
	if err != nil {
		return Payment{}, fmt.Errorf("record payment: %w", err)
	}
	name := strings.TrimSpace(b.Name)
	if name == "" {
		name = "Resayil customer"
	}
	inv, err := s.gateway.CreateInvoice(ctx, InvoiceRequest{
		Reference: p.Reference, Amount: p.Amount, Currency: p.Currency, CustomerName: name, Locale: b.Locale,
		CallbackURL: s.ReturnURL(), ErrorURL: s.ReturnURL(), ExpiresAt: p.ExpiresAt,
	})
	if err != nil {
		reason := "SendPayment failed: " + err.Error()
		var pe *ProviderError
		if errors.As(err, &pe) {
			reason = "SendPayment failed: " + pe.Detail
		}
		if ferr := s.fail(ctx, p.ID, reason); ferr != nil {
			s.log.Error("checkout: could not mark the payment failed", "payment_id", p.ID, "err", ferr)
		}
		if pe == nil {
			return Payment{}, &ProviderError{Detail: "SendPayment", Err: err}
		}
		return Payment{}, err
	}
	if err := s.store.SetInvoice(ctx, p.ID, inv, s.clock()); err != nil {
		// The invoice exists and carries our reference: the job finds it by
		// CustomerReference, and the buyer can still pay.
		s.log.Error("checkout: invoice created but not recorded", "payment_id", p.ID, "invoice_id", inv.ID, "err", err)
	}
	p.InvoiceID, p.PaymentURL = inv.ID, inv.URL
	return p, nil
}

// fail marks a pending payment failed.
func (s *Service) fail(ctx context.Context, id PaymentID, reason string) error {
	return s.store.InTx(ctx, func(tx Tx) error {
		_, err := tx.SetPaymentStatus(ctx, id, []PaymentStatus{StatusPending},
			StatusChange{Status: StatusFailed, FailureReason: truncate(reason, 255), Now: s.clock()})
		return err
	})
}

// referenceEncoding is lower-case base32 without padding: safe in URLs and
// in MyFatoorah's CustomerReference.
var referenceEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newReference returns a fresh payment reference, "rsy_" and 26
// characters (128 random bits): unguessable, so a reference seen in a URL
// or a log reveals nothing and cannot be forged.
func newReference() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "rsy_" + referenceEncoding.EncodeToString(b[:])
}

func invalid(field, format string, args ...any) error {
	return resayil.Invalid(resayil.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
