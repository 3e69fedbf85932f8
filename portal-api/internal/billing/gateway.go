package billing

import (
	"context"
	"errors"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// PaymentGateway is the payment provider as billing needs it: MyFatoorah v2
// (package billing/myfatoorah implements it). The adapter owns the
// provider's spellings ("Paid", "Succss", "KD"); billing sees only the
// meaning.
type PaymentGateway interface {
	// CreateInvoice creates a payment link (MyFatoorah SendPayment with
	// NotificationOption LNK). An unreachable provider, an answer that is
	// not the provider's JSON envelope, or a refusal (IsSuccess false) is a
	// *ProviderError.
	CreateInvoice(ctx context.Context, r InvoiceRequest) (Invoice, error)
	// PaymentStatus asks the provider about an invoice (MyFatoorah
	// GetPaymentStatus). A key the provider does not know is
	// ErrUnknownInvoice; an unreachable or refusing provider is a
	// *ProviderError.
	PaymentStatus(ctx context.Context, key StatusKey) (ProviderPayment, error)
}

// InvoiceRequest is what an invoice carries.
type InvoiceRequest struct {
	// Reference is our payments.reference, sent as CustomerReference.
	Reference string
	Amount    resayil.Fils
	// Currency is the ISO code, always KWD.
	Currency     string
	CustomerName string
	Locale       resayil.Locale
	// CallbackURL and ErrorURL are where the payment page sends the browser
	// back, with ?paymentId=….
	CallbackURL string
	ErrorURL    string
	// ExpiresAt is when the invoice stops taking payments.
	ExpiresAt time.Time
}

// Invoice is a created invoice.
type Invoice struct {
	// ID is the provider's InvoiceId.
	ID string
	// URL is the payment page (MyFatoorah's InvoiceURL).
	URL string
}

// KeyType says what a StatusKey holds (MyFatoorah's KeyType).
type KeyType string

// Key types.
const (
	KeyInvoiceID         KeyType = "InvoiceId"
	KeyPaymentID         KeyType = "PaymentId"
	KeyCustomerReference KeyType = "CustomerReference"
)

// StatusKey names an invoice for PaymentStatus.
type StatusKey struct {
	Type  KeyType
	Value string
}

// ProviderPayment is what the provider says about an invoice. Only
// GetPaymentStatus answers become one: a webhook's or a browser's claims
// never do (invariant 3).
type ProviderPayment struct {
	InvoiceID string
	// Status is the provider's invoice status as sent (for records and
	// logs); Paid and Canceled are its meaning.
	Status   string
	Paid     bool
	Canceled bool
	// Reference is the CustomerReference the invoice carries.
	Reference string
	// Amount is the invoice value; AmountKnown is false when the answer
	// had no amount that could be read exactly.
	Amount      resayil.Fils
	AmountKnown bool
	// Currency is the ISO code of the invoice's currency ("KD" already
	// mapped to "KWD"); empty when the answer did not say.
	Currency     string
	Transactions []ProviderTransaction
}

// ProviderTransaction is one payment attempt on an invoice.
type ProviderTransaction struct {
	PaymentID     string
	TransactionID string
	// Status is the provider's transaction status as sent.
	Status    string
	Succeeded bool
	Failed    bool
	Error     string
}

// Succeeded returns the first successful transaction, if any.
func (p ProviderPayment) Succeeded() (ProviderTransaction, bool) {
	for _, t := range p.Transactions {
		if t.Succeeded {
			return t, true
		}
	}
	return ProviderTransaction{}, false
}

// Last returns the newest transaction, if any.
func (p ProviderPayment) Last() (ProviderTransaction, bool) {
	if len(p.Transactions) == 0 {
		return ProviderTransaction{}, false
	}
	return p.Transactions[len(p.Transactions)-1], true
}

// ErrUnknownInvoice means the provider has no invoice for the key.
var ErrUnknownInvoice = errors.New("billing: the payment provider knows no such invoice")

// ProviderError means the payment provider could not be reached, answered
// something that is not its API, or refused the request. It unwraps to a
// resayil.EUNAVAILABLE error whose message users may read, and to the
// cause.
type ProviderError struct {
	// Refused is true when the provider answered and said no (for example
	// a validation error); false when it could not be reached or made no
	// sense.
	Refused bool
	// Detail is what the provider said, for logs and failure_reason.
	Detail string
	Err    error
}

func (e *ProviderError) Error() string {
	if e.Err != nil {
		return "payment provider: " + e.Detail + ": " + e.Err.Error()
	}
	return "payment provider: " + e.Detail
}

// Unwrap gives the cause and the user-facing error.
func (e *ProviderError) Unwrap() []error {
	msg := "The payment provider (MyFatoorah) cannot be reached right now, so no payment was started. Please try again in a few minutes."
	if e.Refused {
		msg = "The payment provider (MyFatoorah) refused to create the payment, so no payment was started. Please try again later or contact support."
	}
	errs := []error{resayil.Errorf(resayil.EUNAVAILABLE, "%s", msg)}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}
