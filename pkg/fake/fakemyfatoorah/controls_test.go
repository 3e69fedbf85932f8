package fakemyfatoorah_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/resayil/portal/pkg/fake/fakemyfatoorah"
	"github.com/resayil/portal/pkg/resayil"
)

func TestControls_PayFailCancel(t *testing.T) {
	s := newServer(t)
	a := sendPayment(t, s, "a", "", "")
	b := sendPayment(t, s, "b", "", "")

	failed, err := s.Fail(a.InvoiceID)
	if err != nil || failed == "" {
		t.Fatalf("Fail: %q %v", failed, err)
	}
	if inv, _ := s.Invoice(a.InvoiceID); inv.Status != fakemyfatoorah.InvoicePending {
		t.Fatalf("after Fail: %s", inv.Status)
	}
	paid, err := s.Pay(a.InvoiceID)
	if err != nil || paid == failed {
		t.Fatalf("Pay: %q %v", paid, err)
	}
	if _, err := s.Pay(a.InvoiceID); !errors.Is(err, fakemyfatoorah.ErrNotPayable) {
		t.Fatalf("second Pay: %v", err)
	}
	if err := s.Cancel(a.InvoiceID); !errors.Is(err, fakemyfatoorah.ErrNotPayable) {
		t.Fatalf("Cancel paid: %v", err)
	}

	if err := s.Cancel(b.InvoiceID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pay(b.InvoiceID); !errors.Is(err, fakemyfatoorah.ErrNotPayable) {
		t.Fatalf("Pay canceled: %v", err)
	}
	if _, err := s.Pay(1); !errors.Is(err, fakemyfatoorah.ErrUnknownInvoice) {
		t.Fatalf("Pay unknown: %v", err)
	}

	invs := s.Invoices()
	if len(invs) != 2 || invs[0].ID != a.InvoiceID || invs[1].ID != b.InvoiceID ||
		invs[0].Status != "Paid" || invs[1].Status != "Canceled" || len(invs[0].Transactions) != 2 {
		t.Fatalf("Invoices() %+v", invs)
	}
}

func TestControls_OverrideAmount(t *testing.T) {
	s := newServer(t)
	c := sendPayment(t, s, "ref", "", "")
	if err := s.OverrideAmount(c.InvoiceID, 1500, "USD"); err != nil {
		t.Fatal(err)
	}
	paymentID, _ := s.Pay(c.InvoiceID)
	d, _ := getStatus(t, s, paymentID, "PaymentId")
	if d.InvoiceValue.String() != "1.500" || d.InvoiceDisplayValue != "1.500 USD" ||
		d.InvoiceTransactions[0].TransationValue != "1.500" || d.InvoiceTransactions[0].PaidCurrency != "USD" {
		t.Fatalf("override not reported: %+v", d)
	}
	// The fake still knows what was ordered.
	if inv, _ := s.Invoice(c.InvoiceID); inv.Value != 5*resayil.FilsPerKWD || inv.Currency != "KWD" {
		t.Fatalf("stored invoice changed: %+v", inv)
	}
	if err := s.OverrideAmount(99, 1, ""); !errors.Is(err, fakemyfatoorah.ErrUnknownInvoice) {
		t.Fatalf("unknown invoice: %v", err)
	}
}

func TestControls_FailNext(t *testing.T) {
	s := newServer(t)
	c := sendPayment(t, s, "ref", "", "")
	statusBody := map[string]any{"Key": c.InvoiceID, "KeyType": "InvoiceId"}

	s.FailNext(2, fakemyfatoorah.FailHTML500)
	for range 2 {
		status, raw := call(t, s, fakemyfatoorah.PathGetPaymentStatus, statusBody)
		if status != http.StatusInternalServerError || !strings.HasPrefix(string(raw), "<!DOCTYPE html>") {
			t.Fatalf("injected 500: %d %s", status, raw)
		}
	}
	if status, _ := call(t, s, fakemyfatoorah.PathGetPaymentStatus, statusBody); status != http.StatusOK {
		t.Fatalf("third call: %d", status)
	}

	s.FailNext(1, fakemyfatoorah.FailHTML403)
	if status, raw := call(t, s, fakemyfatoorah.PathGetPaymentStatus, statusBody); status != http.StatusForbidden ||
		!strings.Contains(string(raw), "Application-Gateway") {
		t.Fatalf("injected 403: %d %s", status, raw)
	}

	s.FailNext(1, fakemyfatoorah.FailDrop)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+fakemyfatoorah.PathGetPaymentStatus, strings.NewReader(`{}`))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped connection answered %d", resp.StatusCode)
	}

	s.FailNext(5, fakemyfatoorah.FailHTML500)
	s.FailNext(0, fakemyfatoorah.FailHTML500)
	if status, _ := call(t, s, fakemyfatoorah.PathGetPaymentStatus, statusBody); status != http.StatusOK {
		t.Fatalf("after clearing: %d", status)
	}
	if got := s.StatusCalls(); got != 6 {
		t.Fatalf("StatusCalls = %d, want 6 (failed calls count)", got)
	}
}

func TestControls_ClosedServerRefusesConnections(t *testing.T) {
	s := fakemyfatoorah.New()
	base := s.URL()
	s.Close()
	if _, err := http.Post(base+fakemyfatoorah.PathGetPaymentStatus, "application/json", strings.NewReader(`{}`)); err == nil {
		t.Fatal("closed server answered")
	}
}

func TestControls_ConcurrentUse(t *testing.T) {
	s := newServer(t)
	const n = 20
	var wg sync.WaitGroup
	ids := make(chan int64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := trySendPayment(s, fmt.Sprintf("ref-%d", i), "", "")
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := s.Pay(c.InvoiceID); err != nil {
				t.Error(err)
			}
			ids <- c.InvoiceID
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[int64]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("invoice id %d issued twice", id)
		}
		seen[id] = true
	}
	if got := len(s.Invoices()); got != n {
		t.Fatalf("Invoices() = %d, want %d", got, n)
	}
	for _, inv := range s.Invoices() {
		if inv.Status != fakemyfatoorah.InvoicePaid {
			t.Fatalf("invoice %d: %s", inv.ID, inv.Status)
		}
	}
}
