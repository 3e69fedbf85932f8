package fakemyfatoorah

import (
	"fmt"

	"github.com/resayil/portal/pkg/resayil"
)

// Failure texts of the fake's failed transactions. MyFatoorah's real error
// codes are "MF0xx"; these two are illustrative, clients should show
// Error and not branch on the code.
const (
	declinedError = "Declined by issuer"
	declinedCode  = "MF002"
	canceledError = "Canceled by the customer"
	canceledCode  = "MF006"
)

// paymentIDStart begins every fake PaymentId; real ones are 18–20 digit
// strings such as "07076409988323998875".
const paymentIDStart = "0707"

// Pay records a successful ("Succss") transaction with a new PaymentId and
// marks the invoice Paid, as a customer paying on the hosted page would,
// then sends the webhook if one is configured. It returns the PaymentId.
// Paying a Paid, Canceled or expired invoice gives ErrNotPayable.
func (s *Server) Pay(invoiceID int64) (paymentID string, err error) {
	tx, err := s.attempt(invoiceID, true, "", "")
	return tx.PaymentID, err
}

// Fail records a declined ("Failed") transaction. The invoice stays
// Pending and can still be paid, as with the real service. The
// webhook is sent if configured. It returns the PaymentId of the attempt.
func (s *Server) Fail(invoiceID int64) (paymentID string, err error) {
	tx, err := s.attempt(invoiceID, false, declinedError, declinedCode)
	return tx.PaymentID, err
}

// Cancel marks a Pending invoice Canceled, as a merchant cancelling it in the
// portal would. No transaction is added and no webhook is sent. Cancelling a
// Paid invoice gives ErrNotPayable; cancelling twice is a no-op.
func (s *Server) Cancel(invoiceID int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[invoiceID]
	switch {
	case !ok:
		return fmt.Errorf("%w: %d", ErrUnknownInvoice, invoiceID)
	case inv.Status == InvoicePaid:
		return fmt.Errorf("%w: invoice %d is already paid", ErrNotPayable, invoiceID)
	}
	inv.Status = InvoiceCanceled
	return nil
}

// OverrideAmount makes GetPaymentStatus and webhooks report value and
// currency (an ISO code such as "KWD" or "USD"; "" keeps the invoice's) for
// this invoice instead of what was ordered, to test that the portal checks
// amounts against its own record (invariant 3).
func (s *Server) OverrideAmount(invoiceID int64, value resayil.Fils, currencyISO string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[invoiceID]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownInvoice, invoiceID)
	}
	inv.reportedValue = &value
	inv.reportedCurrency = currencyISO
	return nil
}

// attempt adds one transaction and, outside the lock, delivers its webhook:
// the receiver may call GetPaymentStatus on this server while handling it.
func (s *Server) attempt(invoiceID int64, succeed bool, errText, errCode string) (Transaction, error) {
	s.mu.Lock()
	inv, ok := s.invoices[invoiceID]
	if !ok {
		s.mu.Unlock()
		return Transaction{}, fmt.Errorf("%w: %d", ErrUnknownInvoice, invoiceID)
	}
	now := s.now()
	if err := inv.payable(now); err != nil {
		s.mu.Unlock()
		return Transaction{}, err
	}
	s.seq++
	n := s.seq
	tx := Transaction{
		PaymentID:     fmt.Sprintf("%s%08d%08d", paymentIDStart, invoiceID%100_000_000, n),
		TransactionID: fmt.Sprint(5_000_000 + n),
		Status:        TransactionFailed,
		Error:         errText,
		ErrorCode:     errCode,
		Date:          now,
		ReferenceID:   fmt.Sprintf("%012d", 106_310_000_000+n),
		TrackID:       fmt.Sprintf("%s_%d", now.In(kuwait).Format("02-01-2006"), 477_000+n),
	}
	if succeed {
		tx.Status = TransactionSucceeded
		tx.AuthorizationID = fmt.Sprintf("B%05d", n%100_000)
		inv.Status = InvoicePaid
	}
	inv.Transactions = append(inv.Transactions, tx)
	s.byPayment[tx.PaymentID] = invoiceID
	wh := s.webhook
	var req WebhookRequest
	var err error
	send := wh.url != ""
	if send {
		req, err = s.buildWebhookLocked(inv, tx)
	}
	s.mu.Unlock()

	s.log.Info("fakemyfatoorah: payment attempt", "invoice_id", invoiceID, "payment_id", tx.PaymentID, "status", tx.Status)
	if send {
		s.deliver(wh.url, invoiceID, tx.PaymentID, req, err)
	}
	return tx, nil
}
