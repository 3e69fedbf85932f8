package billing

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
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

// Checkout is what Service.Checkout returns: the payment to send the
// buyer to, and whether it is one already pending (no new invoice).
type Checkout struct {
	Payment  Payment
	Existing bool
}

// Checkout starts a payment: it writes the pending payment row first (our
// reference, the price in fils, KWD), then creates the MyFatoorah invoice
// carrying that reference, expiring with the row, and records its
// InvoiceId and URL. When MyFatoorah cannot be reached or refuses, the row
// is marked failed and the error is a *ProviderError (the API answers
// 502). The returned payment's PaymentURL is where to send the buyer.
//
// Every checkout creates an invoice at MyFatoorah, so an account may have
// only so many waiting for payment (Config.MaxPendingCheckouts; one more
// is a *TooManyCheckoutsError), and buying an item whose checkout is
// pending returns that checkout instead of a new one (see claim).
func (s *Service) Checkout(ctx context.Context, b Buyer, req CheckoutRequest) (Checkout, error) {
	p, err := s.priced(ctx, b, req)
	if err != nil {
		return Checkout{}, err
	}
	for range maxClaims {
		c, err := s.claim(ctx, p)
		if err != nil {
			return Checkout{}, err
		}
		if !c.Existing {
			p, err := s.invoice(ctx, b, c.Payment)
			return Checkout{Payment: p}, err
		}
		if c.Payment.PaymentURL != "" {
			return c, nil
		}
		// Another request is creating this item's invoice right now.
		done, err := s.awaitInvoice(ctx, c.Payment.ID)
		if err != nil || done.PaymentURL != "" {
			return Checkout{Payment: done, Existing: true}, err
		}
		// It failed: claim again (a new invoice, or a newer one).
	}
	return Checkout{}, errCheckoutBusy
}

// Tuning of Checkout.
const (
	// DefaultMaxPendingCheckouts is Config.MaxPendingCheckouts' default.
	DefaultMaxPendingCheckouts = 5
	// reuseMinLeft: a pending checkout is handed out again only while its
	// invoice has at least this long to run, so the buyer has time to pay.
	reuseMinLeft = time.Hour
	// invoiceInFlight is how long creating an invoice may take (the
	// MyFatoorah client's timeout is 20 s). A pending row without a URL
	// younger than this is being created; an older one never will be.
	invoiceInFlight = 30 * time.Second
	// awaitPoll is how often a request waiting for another's invoice reads
	// the row.
	awaitPoll = 50 * time.Millisecond
	// maxClaims bounds Checkout's attempts when the invoices it waits for
	// keep failing.
	maxClaims = 3
)

var errCheckoutBusy = resayil.Errorf(resayil.EUNAVAILABLE,
	"A payment for this item is still being started. Please try again in a moment.")

// TooManyCheckoutsError refuses a checkout while the account has
// Config.MaxPendingCheckouts waiting for payment. It carries the resayil
// error (ERATELIMITED) and when the oldest of them expires, for the
// Retry-After header.
type TooManyCheckoutsError struct {
	Wait time.Duration
	err  *resayil.Error
}

func (e *TooManyCheckoutsError) Error() string { return e.err.Error() }

// Unwrap lets resayil.ErrorCode find ERATELIMITED.
func (e *TooManyCheckoutsError) Unwrap() error { return e.err }

// RetryAfter is the wait in whole seconds, at least 1.
func (e *TooManyCheckoutsError) RetryAfter() time.Duration {
	return max(time.Second, e.Wait.Round(time.Second))
}

func tooManyCheckouts(open []Payment, now time.Time) error {
	wait := open[0].ExpiresAt.Sub(now) // oldest first: the first to expire
	return &TooManyCheckoutsError{Wait: wait, err: resayil.Errorf(resayil.ERATELIMITED,
		"You have %d payments waiting to be completed. Complete one (its payment link is in your payment history) "+
			"or wait until one expires (in about %d hour(s)) before starting another.",
		len(open), int(math.Ceil(wait.Hours())))}
}

// priced checks the request and returns the pending payment it makes,
// priced from the catalog, not yet stored.
func (s *Service) priced(ctx context.Context, b Buyer, req CheckoutRequest) (Payment, error) {
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
	return p, nil
}

// claim decides, in one transaction holding the account's lock, what a
// checkout of p does: hand out the account's pending checkout of the same
// item (Existing; its URL may still be empty while another request creates
// its invoice), refuse (the cap), or insert p. The lock (SELECT … FOR
// UPDATE on MySQL; SQLite's immediate transaction) makes concurrent
// checkouts of one account run this one at a time, so two identical ones
// insert one row and distinct ones never pass the cap. The invoice is
// created after the commit: no lock is held across a call to MyFatoorah.
func (s *Service) claim(ctx context.Context, p Payment) (Checkout, error) {
	var out Checkout
	err := s.store.InTx(ctx, func(tx Tx) error {
		out = Checkout{} // InTx may run this again
		if err := tx.LockAccount(ctx, p.Account); err != nil {
			return err
		}
		now := s.clock()
		open, err := tx.OpenCheckouts(ctx, p.Account, now)
		if err != nil {
			return err
		}
		if same, ok := sameItem(open, p, now); ok {
			out = Checkout{Payment: same, Existing: true}
			return nil
		}
		if len(open) >= s.maxPending {
			return tooManyCheckouts(open, now)
		}
		p.CreatedAt, p.UpdatedAt, p.ExpiresAt = now, now, now.Add(s.invoiceTTL)
		created, err := tx.CreatePayment(ctx, p)
		out = Checkout{Payment: created}
		return err
	})
	return out, err
}

// sameItem finds, newest first, an open checkout of the item p buys at
// p's price that can be handed out again: its invoice has time left, or
// is being created right now.
func sameItem(open []Payment, p Payment, now time.Time) (Payment, bool) {
	for i := len(open) - 1; i >= 0; i-- {
		o := open[i]
		if o.Kind != p.Kind || o.PlanID != p.PlanID || o.PackID != p.PackID || o.Amount != p.Amount || o.Credits != p.Credits {
			continue
		}
		if o.PaymentURL != "" && o.ExpiresAt.Sub(now) >= reuseMinLeft {
			return o, true
		}
		if o.PaymentURL == "" && now.Sub(o.CreatedAt) < invoiceInFlight {
			return o, true
		}
	}
	return Payment{}, false
}

// awaitInvoice waits, for up to invoiceInFlight, until the pending payment
// id has its invoice URL (returned) or is no longer pending (returned
// without a URL: its invoice failed).
func (s *Service) awaitInvoice(ctx context.Context, id PaymentID) (Payment, error) {
	deadline := time.NewTimer(invoiceInFlight)
	defer deadline.Stop()
	tick := time.NewTicker(awaitPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return Payment{}, ctx.Err()
		case <-deadline.C:
			return Payment{}, errCheckoutBusy
		case <-tick.C:
		}
		p, err := s.store.Payment(ctx, id)
		if err != nil {
			return Payment{}, err
		}
		if p.PaymentURL != "" || p.Status != StatusPending {
			return p, nil
		}
	}
}

// invoice creates the MyFatoorah invoice of the new pending payment p and
// records it.
func (s *Service) invoice(ctx context.Context, b Buyer, p Payment) (Payment, error) {
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
