package fakemyfatoorah_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakemyfatoorah"
)

func getPage(t *testing.T, pageURL string) (int, string) {
	t.Helper()
	resp, err := browser.Get(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func press(t *testing.T, pageURL, action string) *http.Response {
	t.Helper()
	resp, err := browser.PostForm(pageURL, url.Values{"action": {action}})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestPayPage_Shows(t *testing.T) {
	s := newServer(t)
	c := sendPayment(t, s, "ref", "https://portal.example/cb", "https://portal.example/err")
	status, page := getPage(t, c.InvoiceURL)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d", c.InvoiceURL, status)
	}
	for _, want := range []string{"5.000 KD", `value="pay"`, `value="cancel"`, `method="post"`, "FAKE"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if status, _ := getPage(t, s.URL()+"/pay/424242"); status != http.StatusNotFound {
		t.Fatalf("unknown invoice page: %d", status)
	}
}

func TestPayPage_PayRedirectsToCallback(t *testing.T) {
	s := newServer(t)
	c := sendPayment(t, s, "ref", "https://portal.example/cb?order=7", "https://portal.example/err")
	resp := press(t, c.InvoiceURL, "pay")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("pay: %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	paymentID := loc.Query().Get("paymentId")
	if loc.Host != "portal.example" || loc.Path != "/cb" || loc.Query().Get("order") != "7" || paymentID == "" {
		t.Fatalf("Location %s", loc)
	}
	d, _ := getStatus(t, s, paymentID, "PaymentId")
	if d.InvoiceStatus != "Paid" || len(d.InvoiceTransactions) != 1 || d.InvoiceTransactions[0].TransactionStatus != "Succss" {
		t.Fatalf("after pay: %+v", d)
	}
	// The page now refuses a second payment.
	if resp := press(t, c.InvoiceURL, "pay"); resp.StatusCode != http.StatusConflict {
		t.Fatalf("second pay: %d", resp.StatusCode)
	}
	if _, page := getPage(t, c.InvoiceURL); strings.Contains(page, `value="pay"`) {
		t.Fatalf("paid invoice still offers Pay:\n%s", page)
	}
}

func TestPayPage_CancelRedirectsToErrorURLAndStaysPending(t *testing.T) {
	s := newServer(t)
	c := sendPayment(t, s, "ref", "https://portal.example/cb", "https://portal.example/err")
	resp := press(t, c.InvoiceURL, "cancel")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Path != "/err" || loc.Query().Get("paymentId") == "" {
		t.Fatalf("cancel: %d %s", resp.StatusCode, loc)
	}
	d, _ := getStatus(t, s, loc.Query().Get("paymentId"), "PaymentId")
	if d.InvoiceStatus != "Pending" || d.InvoiceTransactions[0].TransactionStatus != "Failed" {
		t.Fatalf("after cancel: %+v", d)
	}
	// A declined attempt leaves the link payable.
	if resp := press(t, c.InvoiceURL, "pay"); resp.StatusCode != http.StatusFound {
		t.Fatalf("pay after cancel: %d", resp.StatusCode)
	}
	if inv, _ := s.Invoice(c.InvoiceID); inv.Status != fakemyfatoorah.InvoicePaid || len(inv.Transactions) != 2 {
		t.Fatalf("invoice %+v", inv)
	}
}

func TestPayPage_NoRedirectURLs(t *testing.T) {
	s := newServer(t)
	c := sendPayment(t, s, "ref", "", "")
	resp, err := browser.PostForm(c.InvoiceURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "Succss") {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
}

func TestPayPage_ExpiredAndCanceledRefuse(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 8, 14, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newServer(t, fakemyfatoorah.WithClock(clock))
	expiring := sendPayment(t, s, "a", "https://portal.example/cb", "https://portal.example/err")
	canceled := sendPayment(t, s, "b", "https://portal.example/cb", "https://portal.example/err")
	if err := s.Cancel(canceled.InvoiceID); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(30 * 24 * time.Hour)
	mu.Unlock()
	for _, c := range []created{expiring, canceled} {
		if resp := press(t, c.InvoiceURL, "pay"); resp.StatusCode != http.StatusConflict {
			t.Errorf("invoice %d: %d, want 409", c.InvoiceID, resp.StatusCode)
		}
	}
	// An expired invoice is still Pending: Expired is derived by the client.
	d, _ := getStatus(t, s, expiring.InvoiceID, "InvoiceId")
	if d.InvoiceStatus != "Pending" || d.ExpiryDate != "August 17, 2026" {
		t.Fatalf("expired invoice: %+v", d)
	}
	if d, _ := getStatus(t, s, canceled.InvoiceID, "InvoiceId"); d.InvoiceStatus != "Canceled" {
		t.Fatalf("canceled invoice: %+v", d)
	}
}
