package fakemyfatoorah_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/resayil/portal/pkg/fake/fakemyfatoorah"
	"github.com/resayil/portal/pkg/myfatoorahsig"
)

const whSecret = "test-webhook-secret"

// received is one webhook as the portal's endpoint would see it.
type received struct {
	body      []byte
	signature string
}

// receiver is a webhook endpoint recording what it gets; onHook, if set,
// runs inside the handler, as the portal's verification would.
type receiver struct {
	mu     sync.Mutex
	hooks  []received
	onHook func(received)
	srv    *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		// Header lookup is case-insensitive; use the lower-case spelling.
		h := received{body: b, signature: r.Header.Get("myfatoorah-signature")}
		if rc.onHook != nil {
			rc.onHook(h)
		}
		rc.mu.Lock()
		rc.hooks = append(rc.hooks, h)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.hooks...)
}

type v2Hook struct {
	Event struct {
		Code      int
		Name      string
		Reference string
	}
	Data struct {
		Invoice struct {
			ID                 string `json:"Id"`
			Status             string
			ExternalIdentifier *string
		}
		Transaction struct {
			Status    string
			PaymentID string `json:"PaymentId"`
			Error     *struct{ Code, Message string }
		}
		Amount struct{ ValueInBaseCurrency, BaseCurrency string }
	}
}

func TestWebhook_V2FromPayPage_VerifiesAndStatusIsAlreadyPaid(t *testing.T) {
	s := newServer(t)
	rc := newReceiver(t)
	// The portal asks GetPaymentStatus while handling the webhook; the fake
	// must answer (no lock held) and already say Paid.
	var statusDuringHook atomic.Value
	rc.onHook = func(received) {
		inv := s.Invoices()[0]
		_, raw, err := post(s, fakemyfatoorah.PathGetPaymentStatus, "Bearer "+fakemyfatoorah.DefaultToken,
			map[string]any{"Key": inv.ID, "KeyType": "InvoiceId"})
		var env struct {
			Data struct{ InvoiceStatus string }
		}
		if err == nil && json.Unmarshal(raw, &env) == nil {
			statusDuringHook.Store(env.Data.InvoiceStatus)
		}
	}
	s.SetWebhook(rc.srv.URL, whSecret, fakemyfatoorah.WebhookV2)
	c := sendPayment(t, s, "topup-42", "https://portal.example/cb", "https://portal.example/err")

	resp := press(t, c.InvoiceURL, "pay")
	paymentID := mustLocation(t, resp).Query().Get("paymentId")

	hooks := rc.got()
	if len(hooks) != 1 {
		t.Fatalf("received %d webhooks, want 1", len(hooks))
	}
	h := hooks[0]
	if h.signature == "" {
		t.Fatal("no MyFatoorah-Signature header")
	}
	if err := myfatoorahsig.VerifyV2(h.body, whSecret, h.signature); err != nil {
		t.Fatalf("VerifyV2: %v\n%s", err, h.body)
	}
	var ev v2Hook
	if err := json.Unmarshal(h.body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Event.Code != 1 || ev.Event.Name != "PAYMENT_STATUS_CHANGED" || !strings.HasPrefix(ev.Event.Reference, "WH-") ||
		ev.Data.Invoice.Status != "PAID" || ev.Data.Transaction.Status != "SUCCESS" ||
		ev.Data.Transaction.PaymentID != paymentID || ev.Data.Amount.ValueInBaseCurrency != "5.000" ||
		ev.Data.Amount.BaseCurrency != "KWD" || ev.Data.Invoice.ExternalIdentifier != nil {
		t.Fatalf("event %+v", ev)
	}
	if ev.Data.Invoice.ID != jsonID(c.InvoiceID) {
		t.Fatalf("Invoice.Id %q, want %d", ev.Data.Invoice.ID, c.InvoiceID)
	}
	if got, _ := statusDuringHook.Load().(string); got != "Paid" {
		t.Fatalf("GetPaymentStatus during the webhook said %q, want Paid", got)
	}
	if d := s.Deliveries(); len(d) != 1 || d[0].StatusCode != http.StatusOK || d[0].Err != nil || d[0].PaymentID != paymentID {
		t.Fatalf("Deliveries %+v", d)
	}
	// Tampering with the delivered body breaks the signature.
	forged := bytes.Replace(h.body, []byte(`"Status":"PAID"`), []byte(`"Status":"PENDING"`), 1)
	if err := myfatoorahsig.VerifyV2(forged, whSecret, h.signature); !errors.Is(err, myfatoorahsig.ErrMismatch) {
		t.Fatalf("forged body: %v", err)
	}
}

func TestWebhook_V1OnFailedAttempt(t *testing.T) {
	rc := newReceiver(t)
	s := newServer(t, fakemyfatoorah.WithWebhook(rc.srv.URL, whSecret, fakemyfatoorah.WebhookV1))
	c := sendPayment(t, s, "topup-9", "", "")
	paymentID, err := s.Fail(c.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	hooks := rc.got()
	if len(hooks) != 1 {
		t.Fatalf("received %d webhooks", len(hooks))
	}
	if err := myfatoorahsig.VerifyV1(hooks[0].body, whSecret, hooks[0].signature); err != nil {
		t.Fatalf("VerifyV1: %v\n%s", err, hooks[0].body)
	}
	var ev struct {
		EventType int
		Event     string
		DateTime  string
		Data      map[string]any
	}
	if err := json.Unmarshal(hooks[0].body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.EventType != 1 || ev.Event != "TransactionsStatusChanged" || !regexp.MustCompile(`^\d{14}$`).MatchString(ev.DateTime) {
		t.Fatalf("envelope %+v", ev)
	}
	d := ev.Data
	if d["TransactionStatus"] != "FAILED" || d["PaymentId"] != paymentID || d["InvoiceId"] != float64(c.InvoiceID) ||
		d["InvoiceValueInDisplayCurreny"] != "5.000" || d["CustomerReference"] != "topup-9" || d["DisplayCurrency"] != "KWD" {
		t.Fatalf("Data %+v", d)
	}
}

func TestWebhook_ReplayManyTimesConcurrently(t *testing.T) {
	s := newServer(t)
	s.SetWebhook("", whSecret, fakemyfatoorah.WebhookV2) // build only, send nothing
	c := sendPayment(t, s, "ref", "", "")
	paymentID, _ := s.Pay(c.InvoiceID)
	if d := s.Deliveries(); len(d) != 0 {
		t.Fatalf("empty webhook URL delivered %+v", d)
	}
	wr, err := s.Webhook(c.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	var verified, wrongPayment atomic.Int32
	rc := newReceiver(t)
	rc.onHook = func(h received) {
		if myfatoorahsig.VerifyV2(h.body, whSecret, h.signature) == nil {
			verified.Add(1)
		}
		if !bytes.Contains(h.body, []byte(paymentID)) {
			wrongPayment.Add(1)
		}
	}
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, err := wr.NewRequest(context.Background(), rc.srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if verified.Load() != n || wrongPayment.Load() != 0 {
		t.Fatalf("verified %d of %d, wrong payment %d", verified.Load(), n, wrongPayment.Load())
	}
	// A second build is a new event (new Reference) with the same signature.
	wr2, _ := s.Webhook(c.InvoiceID)
	if bytes.Equal(wr.Body, wr2.Body) || wr.Header.Get(myfatoorahsig.Header) != wr2.Header.Get(myfatoorahsig.Header) {
		t.Fatal("rebuilt webhook should differ only outside the signed fields")
	}
}

func TestWebhook_Errors(t *testing.T) {
	s := newServer(t)
	c := sendPayment(t, s, "ref", "", "")
	if _, err := s.Webhook(c.InvoiceID); err == nil {
		t.Fatal("Webhook before any transaction")
	}
	if _, err := s.Pay(c.InvoiceID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Webhook(c.InvoiceID); !errors.Is(err, fakemyfatoorah.ErrNoWebhook) {
		t.Fatalf("unconfigured: %v", err)
	}
	if _, err := s.Webhook(12345); !errors.Is(err, fakemyfatoorah.ErrUnknownInvoice) {
		t.Fatalf("unknown: %v", err)
	}
	s.SetWebhook("", "", fakemyfatoorah.WebhookV1)
	wr, err := s.Webhook(c.InvoiceID)
	if err != nil || wr.Header.Get(myfatoorahsig.Header) != "" || wr.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("unsigned webhook: %v %v", err, wr.Header)
	}
}

func TestWebhook_DeliveryFailureIsRecorded(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	s := newServer(t, fakemyfatoorah.WithWebhook(deadURL, whSecret, fakemyfatoorah.WebhookV2))
	c := sendPayment(t, s, "ref", "", "")
	if _, err := s.Pay(c.InvoiceID); err != nil {
		t.Fatalf("Pay must not fail because the webhook did: %v", err)
	}
	if d := s.Deliveries(); len(d) != 1 || d[0].Err == nil || d[0].StatusCode != 0 {
		t.Fatalf("Deliveries %+v", d)
	}
}
