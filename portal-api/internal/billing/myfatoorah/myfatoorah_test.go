package myfatoorah_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakemyfatoorah"
	"github.com/resayil/portal/pkg/myfatoorahsig"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/billing"
	"github.com/resayil/portal/portal-api/internal/billing/myfatoorah"
)

func newPair(t *testing.T) (*fakemyfatoorah.Server, *myfatoorah.Client) {
	t.Helper()
	mf := fakemyfatoorah.New(fakemyfatoorah.WithWebhook("", "s3cret", fakemyfatoorah.WebhookV2))
	t.Cleanup(mf.Close)
	return mf, myfatoorah.New(myfatoorah.Config{BaseURL: mf.URL(), Token: fakemyfatoorah.DefaultToken, WebhookSecret: "s3cret"})
}

func invoice(t *testing.T, c *myfatoorah.Client) billing.Invoice {
	t.Helper()
	inv, err := c.CreateInvoice(context.Background(), billing.InvoiceRequest{
		Reference: "rsy_ref", Amount: 6500, Currency: "KWD", CustomerName: "Buyer",
		CallbackURL: "https://portal.example.com/r", ErrorURL: "https://portal.example.com/r", ExpiresAt: time.Now().Add(48 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestClient_SendPaymentAndStatus(t *testing.T) {
	mf, c := newPair(t)
	inv := invoice(t, c)
	if !strings.HasSuffix(inv.URL, "/pay/"+inv.ID) {
		t.Errorf("InvoiceURL %q", inv.URL)
	}
	key := billing.StatusKey{Type: billing.KeyInvoiceID, Value: inv.ID}
	st, err := c.PaymentStatus(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	if st.Paid || st.Status != "Pending" || st.Amount != 6500 || !st.AmountKnown || st.Currency != "KWD" || st.Reference != "rsy_ref" {
		t.Errorf("pending: %+v", st)
	}
	var id int64
	json.Unmarshal([]byte(inv.ID), &id)
	pid, err := mf.Pay(id)
	if err != nil {
		t.Fatal(err)
	}
	st, err = c.PaymentStatus(context.Background(), billing.StatusKey{Type: billing.KeyPaymentID, Value: pid})
	if err != nil {
		t.Fatal(err)
	}
	tx, ok := st.Succeeded()
	if !st.Paid || !ok || tx.PaymentID != pid || st.InvoiceID != inv.ID {
		t.Errorf("paid: %+v", st)
	}
	if _, err := c.PaymentStatus(context.Background(), billing.StatusKey{Type: billing.KeyPaymentID, Value: "0707nothing"}); !errors.Is(err, billing.ErrUnknownInvoice) {
		t.Errorf("unknown key: %v", err)
	}
}

// TestClient_Amounts reads InvoiceValue exactly and falls back to
// InvoiceDisplayValue ("KD" is KWD).
func TestClient_Amounts(t *testing.T) {
	for _, tc := range []struct {
		value, display string
		fils           resayil.Fils
		known          bool
		currency       string
	}{
		{`5.000`, "5.000 KD", 5000, true, "KWD"},
		{`5`, "5.000 KD", 5000, true, "KWD"},
		{`"2.5"`, "2.500 KD", 2500, true, "KWD"},
		{`null`, "15.000 KD", 15000, true, "KWD"},
		{`5.0001`, "", 0, false, ""},
		{`5e3`, "garbage", 0, false, ""},
		{`16.5`, "16.500 USD", 16500, true, "USD"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"IsSuccess":true,"Message":"","ValidationErrors":null,"Data":{"InvoiceId":1,"InvoiceStatus":"Paid","CustomerReference":"x",` +
				`"InvoiceValue":` + tc.value + `,"InvoiceDisplayValue":"` + tc.display + `","InvoiceTransactions":[{"PaymentId":"1","TransactionStatus":"Succss"}]}}`))
		}))
		c := myfatoorah.New(myfatoorah.Config{BaseURL: srv.URL, Token: "t"})
		st, err := c.PaymentStatus(context.Background(), billing.StatusKey{Type: billing.KeyInvoiceID, Value: "1"})
		srv.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.value, err)
		}
		if st.AmountKnown != tc.known || st.Amount != tc.fils || st.Currency != tc.currency {
			t.Errorf("InvoiceValue %s / %q: %d %v %q; want %d %v %q", tc.value, tc.display, st.Amount, st.AmountKnown, st.Currency, tc.fils, tc.known, tc.currency)
		}
	}
}

// TestClient_Failures: every way MyFatoorah fails is a ProviderError, never
// a panic or a zero value taken for an answer.
func TestClient_Failures(t *testing.T) {
	mf, c := newPair(t)
	for _, mode := range []fakemyfatoorah.FailMode{fakemyfatoorah.FailHTML500, fakemyfatoorah.FailHTML403, fakemyfatoorah.FailDrop} {
		mf.FailNext(1, mode)
		_, err := c.CreateInvoice(context.Background(), billing.InvoiceRequest{Reference: "r", Amount: 1000, Currency: "KWD", CustomerName: "B", ExpiresAt: time.Now().Add(time.Hour)})
		var pe *billing.ProviderError
		if !errors.As(err, &pe) || resayil.ErrorCode(err) != resayil.EUNAVAILABLE {
			t.Errorf("mode %d: %v", mode, err)
		}
	}
	bad := myfatoorah.New(myfatoorah.Config{BaseURL: mf.URL(), Token: "wrong"})
	_, err := bad.CreateInvoice(context.Background(), billing.InvoiceRequest{Reference: "r", Amount: 1000, Currency: "KWD", CustomerName: "B", ExpiresAt: time.Now().Add(time.Hour)})
	if err == nil || !strings.Contains(err.Error(), "token") {
		t.Errorf("bad token (empty 401): %v", err)
	}
	_, err = c.CreateInvoice(context.Background(), billing.InvoiceRequest{Reference: "r", Amount: 1000, Currency: "KWD", CustomerName: "B",
		CallbackURL: "http://localhost/x", ExpiresAt: time.Now().Add(time.Hour)})
	var pe *billing.ProviderError
	if !errors.As(err, &pe) || !pe.Refused || !strings.Contains(pe.Detail, "CallBackUrl") {
		t.Errorf("validation refusal: %v", err)
	}
}

func TestClient_ParseWebhook(t *testing.T) {
	mf, c := newPair(t)
	inv := invoice(t, c)
	var id int64
	json.Unmarshal([]byte(inv.ID), &id)
	pid, _ := mf.Pay(id)
	wr, err := mf.Webhook(id)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := c.ParseWebhook(wr.Body, wr.Header.Get(myfatoorahsig.Header))
	if err != nil || !ev.PaymentStatusChanged || ev.InvoiceID != inv.ID || ev.PaymentID != pid {
		t.Fatalf("%+v %v", ev, err)
	}
	if _, err := c.ParseWebhook(wr.Body, ""); !errors.Is(err, billing.ErrBadSignature) {
		t.Errorf("no signature: %v", err)
	}
	unsigned := myfatoorah.New(myfatoorah.Config{BaseURL: mf.URL(), Token: fakemyfatoorah.DefaultToken})
	if _, err := unsigned.ParseWebhook(wr.Body, wr.Header.Get(myfatoorahsig.Header)); !errors.Is(err, billing.ErrBadSignature) {
		t.Errorf("no secret configured must refuse: %v", err)
	}
	ev, err = c.ParseWebhook([]byte(`{"Event":{"Code":5},"Data":{}}`), "")
	if err != nil || ev.PaymentStatusChanged {
		t.Errorf("other event: %+v %v", ev, err)
	}
}
