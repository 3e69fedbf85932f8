package fakemyfatoorah_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/fake/fakemyfatoorah"
)

// envelope is the client's view of every API answer.
type envelope struct {
	IsSuccess        bool
	Message          string
	ValidationErrors []fakemyfatoorah.ValidationError
	Data             json.RawMessage
}

func newServer(t *testing.T, opts ...fakemyfatoorah.Option) *fakemyfatoorah.Server {
	t.Helper()
	s := fakemyfatoorah.New(opts...)
	t.Cleanup(s.Close)
	return s
}

// call POSTs body (marshalled unless it is a string) to path with the
// default token and returns the status and raw body.
func call(t *testing.T, s *fakemyfatoorah.Server, path string, body any) (int, []byte) {
	t.Helper()
	return callWithAuth(t, s, path, "Bearer "+fakemyfatoorah.DefaultToken, body)
}

func callWithAuth(t *testing.T, s *fakemyfatoorah.Server, path, auth string, body any) (int, []byte) {
	t.Helper()
	status, raw, err := post(s, path, auth, body)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	return status, raw
}

// post is the request behind every API helper; it does not use t, so
// goroutines can call it.
func post(s *fakemyfatoorah.Server, path, auth string, body any) (int, []byte, error) {
	raw, isString := body.(string)
	if !isString {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		raw = string(b)
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+path, strings.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

func decodeEnvelope(t *testing.T, raw []byte) envelope {
	t.Helper()
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("body is not the envelope: %v\n%s", err, raw)
	}
	return env
}

type created struct {
	InvoiceID  int64  `json:"InvoiceId"`
	InvoiceURL string `json:"InvoiceURL"`
}

// sendPayment creates a 5.000 KWD invoice with the given references and
// callback URLs.
func sendPayment(t *testing.T, s *fakemyfatoorah.Server, ref, callback, errorURL string) created {
	t.Helper()
	c, err := trySendPayment(s, ref, callback, errorURL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// trySendPayment is sendPayment for goroutines, where t.Fatal is not allowed.
func trySendPayment(s *fakemyfatoorah.Server, ref, callback, errorURL string) (created, error) {
	status, raw, err := post(s, fakemyfatoorah.PathSendPayment, "Bearer "+fakemyfatoorah.DefaultToken, map[string]any{
		"InvoiceValue": 5.000, "CustomerName": "Test", "NotificationOption": "LNK",
		"CustomerReference": ref, "UserDefinedField": "user-7", "DisplayCurrencyIso": "KWD",
		"CustomerEmail": "t@example.com", "CustomerMobile": "96512345",
		"CallBackUrl": callback, "ErrorUrl": errorURL,
	})
	if err != nil {
		return created{}, err
	}
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil || status != http.StatusOK || !env.IsSuccess {
		return created{}, fmt.Errorf("SendPayment: %d %s (%v)", status, raw, err)
	}
	var c created
	err = json.Unmarshal(env.Data, &c)
	return c, err
}

// statusData is the subset of GetPaymentStatus's Data the tests read.
type statusData struct {
	InvoiceID           int64 `json:"InvoiceId"`
	InvoiceStatus       string
	InvoiceReference    string
	CustomerReference   string
	UserDefinedField    string
	CreatedDate         string
	ExpiryDate          string
	ExpiryTime          string
	InvoiceValue        json.Number
	InvoiceDisplayValue string
	CustomerName        string
	CustomerMobile      string
	CustomerEmail       string
	InvoiceTransactions []struct {
		TransactionStatus string
		TransationValue   string
		PaidCurrency      string
		Currency          string
		PaymentID         string `json:"PaymentId"`
		TransactionID     string `json:"TransactionId"`
		PaymentGateway    string
		Error             string
	}
}

func getStatus(t *testing.T, s *fakemyfatoorah.Server, key any, keyType string) (statusData, []byte) {
	t.Helper()
	status, raw := call(t, s, fakemyfatoorah.PathGetPaymentStatus, map[string]any{"Key": key, "KeyType": keyType})
	env := decodeEnvelope(t, raw)
	if status != http.StatusOK || !env.IsSuccess {
		t.Fatalf("GetPaymentStatus(%v, %s): %d %s", key, keyType, status, raw)
	}
	var d statusData
	if err := json.Unmarshal(env.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d, raw
}

// browser does not follow redirects, so tests see the 302 itself.
var browser = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

func mustLocation(t *testing.T, resp *http.Response) *url.URL {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d, want 302", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// jsonID is how V2 webhooks write Invoice.Id: a string, per the docs table.
func jsonID(id int64) string { return fmt.Sprint(id) }
