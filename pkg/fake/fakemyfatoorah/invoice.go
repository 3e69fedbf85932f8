package fakemyfatoorah

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// Invoice statuses as GetPaymentStatus reports them. "Canceled" has a
// single L. Failed and Expired are not invoice statuses.
const (
	InvoicePending  = "Pending"
	InvoicePaid     = "Paid"
	InvoiceCanceled = "Canceled"
)

// Transaction statuses as GetPaymentStatus reports them. The
// misspelling "Succss" is what MyFatoorah really sends.
const (
	TransactionSucceeded  = "Succss"
	TransactionFailed     = "Failed"
	TransactionInProgress = "InProgress"
)

// paymentGateway is the method every fake transaction uses.
const paymentGateway = "KNET"

var (
	// ErrUnknownInvoice means no invoice has that id.
	ErrUnknownInvoice = errors.New("fakemyfatoorah: unknown invoice")
	// ErrNotPayable means the invoice is already Paid, Canceled or expired.
	ErrNotPayable = errors.New("fakemyfatoorah: invoice cannot take a payment")
)

// kuwait is MyFatoorah's clock zone (Asia/Kuwait, UTC+3, no daylight
// saving); a fixed zone needs no tzdata.
var kuwait = time.FixedZone("AST", 3*60*60)

// Invoice is a snapshot of one invoice held by the fake.
type Invoice struct {
	ID                 int64
	Reference          string // InvoiceReference, e.g. "2026000001"
	Status             string // InvoicePending, InvoicePaid or InvoiceCanceled
	Value              resayil.Fils
	Currency           string // ISO code from DisplayCurrencyIso; "KWD" by default
	CustomerName       string
	CustomerEmail      string
	CustomerMobile     string
	MobileCountryCode  string
	CustomerReference  string
	UserDefinedField   string
	NotificationOption string
	CallBackURL        string
	ErrorURL           string
	Language           string
	Items              []Item
	Created            time.Time
	Expiry             time.Time
	Transactions       []Transaction
}

// Item is one InvoiceItems entry.
type Item struct {
	Name      string
	Quantity  int64
	UnitPrice resayil.Fils
}

// Transaction is one payment attempt on an invoice.
type Transaction struct {
	PaymentID       string
	TransactionID   string
	Status          string // TransactionSucceeded, TransactionFailed, ...
	Error           string
	ErrorCode       string
	Date            time.Time
	ReferenceID     string
	TrackID         string
	AuthorizationID string
}

// invoice is the fake's mutable record: the public snapshot plus the
// test-only overrides of what is reported.
type invoice struct {
	Invoice
	reportedValue    *resayil.Fils
	reportedCurrency string
}

func (inv *invoice) snapshot() Invoice {
	out := inv.Invoice
	out.Items = append([]Item(nil), inv.Items...)
	out.Transactions = append([]Transaction(nil), inv.Transactions...)
	return out
}

// reported returns the amount and ISO currency that GetPaymentStatus and
// webhooks show, after any OverrideAmount.
func (inv *invoice) reported() (resayil.Fils, string) {
	v, c := inv.Value, inv.Currency
	if inv.reportedValue != nil {
		v = *inv.reportedValue
	}
	if inv.reportedCurrency != "" {
		c = inv.reportedCurrency
	}
	return v, c
}

// payable says why a payment attempt is refused, or nil.
func (inv *invoice) payable(now time.Time) error {
	switch {
	case inv.Status == InvoicePaid:
		return fmt.Errorf("%w: invoice %d is already paid", ErrNotPayable, inv.ID)
	case inv.Status == InvoiceCanceled:
		return fmt.Errorf("%w: invoice %d is canceled", ErrNotPayable, inv.ID)
	case now.After(inv.Expiry):
		return fmt.Errorf("%w: invoice %d expired at %s", ErrNotPayable, inv.ID, inv.Expiry.Format(time.RFC3339))
	}
	return nil
}

// lastTransaction returns the newest attempt, if any.
func (inv *invoice) lastTransaction() (Transaction, bool) {
	if len(inv.Transactions) == 0 {
		return Transaction{}, false
	}
	return inv.Transactions[len(inv.Transactions)-1], true
}

// displayCurrency is the text MyFatoorah prints next to amounts: "KD" for
// Kuwaiti dinars, not "KWD".
func displayCurrency(iso string) string {
	if iso == "KWD" {
		return "KD"
	}
	return iso
}

// parseFils reads a positive decimal amount with at most three decimals,
// the precision of KWD, without going through a float.
func parseFils(lit string) (resayil.Fils, error) {
	bad := fmt.Errorf("%q is not an amount with at most 3 decimals", lit)
	whole, frac, _ := strings.Cut(strings.TrimSpace(lit), ".")
	frac = strings.TrimRight(frac, "0")
	if whole == "" || len(frac) > 3 || !digits(whole) || !digits(frac) || len(whole) > 12 {
		return 0, bad
	}
	var v int64
	for _, c := range whole + (frac + "000")[:3] {
		v = v*10 + int64(c-'0')
	}
	return resayil.Fils(v), nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// netDate formats like .NET's DateTime JSON: local time, no zone, trailing
// fractional zeros dropped ("2026-08-14T10:00:00.53").
func netDate(t time.Time) string {
	return t.In(kuwait).Format("2006-01-02T15:04:05.9999999")
}
