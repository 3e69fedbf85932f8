package fakemyfatoorah_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/fake/fakemyfatoorah"
	"github.com/resayil/portal/pkg/resayil"
)

func TestSendPayment_OK(t *testing.T) {
	s := newServer(t)
	status, raw := call(t, s, fakemyfatoorah.PathSendPayment, map[string]any{
		"InvoiceValue": "5.000", "CustomerName": "Test", "NotificationOption": "LNK",
		"CustomerReference": "topup-42", "UserDefinedField": "user-7",
		"CallBackUrl": "https://portal.example/cb", "ErrorUrl": "https://portal.example/err",
		"DisplayCurrencyIso": "KWD", "ExpiryDate": "2099-01-02T03:04:05",
	})
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, raw)
	}
	inv := s.Invoices()
	if len(inv) != 1 {
		t.Fatalf("Invoices() = %d, want 1", len(inv))
	}
	want := fmt.Sprintf(`{"IsSuccess":true,"Message":"Invoice Created Successfully!","ValidationErrors":null,`+
		`"Data":{"InvoiceId":%d,"InvoiceURL":"%s/pay/%d","CustomerReference":"topup-42","UserDefinedField":"user-7"}}`,
		inv[0].ID, s.URL(), inv[0].ID)
	if got := strings.TrimSpace(string(raw)); got != want {
		t.Fatalf("body\n%s\nwant\n%s", got, want)
	}
	got := inv[0]
	if got.Value != 5*resayil.FilsPerKWD || got.Currency != "KWD" || got.Status != fakemyfatoorah.InvoicePending ||
		got.CallBackURL != "https://portal.example/cb" || got.ErrorURL != "https://portal.example/err" ||
		got.CustomerReference != "topup-42" || got.UserDefinedField != "user-7" || got.Expiry.Year() != 2099 {
		t.Fatalf("stored invoice %+v", got)
	}
}

func TestSendPayment_ValidationErrors(t *testing.T) {
	s := newServer(t)
	valid := func() map[string]any {
		return map[string]any{"InvoiceValue": 5, "CustomerName": "Test", "NotificationOption": "LNK"}
	}
	tests := []struct {
		name   string
		edit   func(map[string]any)
		fields []string
	}{
		{"missing everything", func(m map[string]any) { clear(m) }, []string{"InvoiceValue", "CustomerName", "NotificationOption"}},
		{"zero value", func(m map[string]any) { m["InvoiceValue"] = 0 }, []string{"InvoiceValue"}},
		{"four decimals", func(m map[string]any) { m["InvoiceValue"] = 1.2345 }, []string{"InvoiceValue"}},
		{"bad option", func(m map[string]any) { m["NotificationOption"] = "FAX" }, []string{"NotificationOption"}},
		{"EML needs email", func(m map[string]any) { m["NotificationOption"] = "EML" }, []string{"CustomerEmail"}},
		{"SMS needs mobile", func(m map[string]any) { m["NotificationOption"] = "SMS" }, []string{"CustomerMobile"}},
		{"ALL needs both", func(m map[string]any) { m["NotificationOption"] = "ALL" }, []string{"CustomerEmail", "CustomerMobile"}},
		{"localhost callback", func(m map[string]any) { m["CallBackUrl"] = "http://localhost:8080/cb" }, []string{"CallBackUrl"}},
		{"relative error url", func(m map[string]any) { m["ErrorUrl"] = "/err" }, []string{"ErrorUrl"}},
		{"past expiry", func(m map[string]any) { m["ExpiryDate"] = "2001-01-01T00:00:00" }, []string{"ExpiryDate"}},
		{"items do not add up", func(m map[string]any) {
			m["InvoiceItems"] = []map[string]any{{"ItemName": "pack", "Quantity": 2, "UnitPrice": 2}}
		}, []string{"InvoiceValue"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := valid()
			tc.edit(body)
			status, raw := call(t, s, fakemyfatoorah.PathSendPayment, body)
			env := decodeEnvelope(t, raw)
			if status != http.StatusBadRequest || env.IsSuccess || env.Data != nil && string(env.Data) != "null" {
				t.Fatalf("status %d body %s", status, raw)
			}
			var names []string
			for _, e := range env.ValidationErrors {
				if e.Error == "" {
					t.Errorf("empty Error for %s", e.Name)
				}
				names = append(names, e.Name)
			}
			if strings.Join(names, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("ValidationErrors names %v, want %v (%s)", names, tc.fields, raw)
			}
		})
	}
	if n := len(s.Invoices()); n != 0 {
		t.Fatalf("invalid requests stored %d invoices", n)
	}
	// Items that add up are accepted.
	body := valid()
	body["InvoiceItems"] = []map[string]any{{"ItemName": "pack", "Quantity": 2, "UnitPrice": "2.500"}}
	if status, raw := call(t, s, fakemyfatoorah.PathSendPayment, body); status != http.StatusOK {
		t.Fatalf("matching items refused: %s", raw)
	}
}

func TestLocalhostCallbacksOption(t *testing.T) {
	s := newServer(t, fakemyfatoorah.WithLocalhostCallbacks())
	status, raw := call(t, s, fakemyfatoorah.PathSendPayment, map[string]any{
		"InvoiceValue": 1, "CustomerName": "Dev", "NotificationOption": "LNK", "CallBackUrl": "http://localhost:5173/cb",
	})
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, raw)
	}
}

func TestAuthFailure_EmptyBody(t *testing.T) {
	s := newServer(t, fakemyfatoorah.WithToken("right"))
	paths := []string{fakemyfatoorah.PathSendPayment, fakemyfatoorah.PathGetPaymentStatus, fakemyfatoorah.PathInitiatePayment}
	for _, path := range paths {
		for _, auth := range []string{"", "Bearer wrong", "right", "Basic right"} {
			status, raw := callWithAuth(t, s, path, auth, `{}`)
			if status != http.StatusUnauthorized || len(raw) != 0 {
				t.Errorf("%s with %q: %d %q, want 401 and an empty body", path, auth, status, raw)
			}
		}
	}
	if status, _ := callWithAuth(t, s, fakemyfatoorah.PathInitiatePayment, "Bearer right", `{"InvoiceAmount":1}`); status != http.StatusOK {
		t.Fatalf("right token refused: %d", status)
	}
}

func TestGetPaymentStatus_AllKeyTypes(t *testing.T) {
	s := newServer(t)
	c := sendPayment(t, s, "topup-42", "https://portal.example/cb", "https://portal.example/err")
	paymentID, err := s.Pay(c.InvoiceID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []struct {
		key     any
		keyType string
	}{
		{c.InvoiceID, "InvoiceId"}, {fmt.Sprint(c.InvoiceID), "InvoiceId"},
		{paymentID, "PaymentId"}, {"topup-42", "CustomerReference"},
	} {
		d, _ := getStatus(t, s, k.key, k.keyType)
		if d.InvoiceID != c.InvoiceID || d.InvoiceStatus != "Paid" || d.CustomerReference != "topup-42" {
			t.Fatalf("%s %v: %+v", k.keyType, k.key, d)
		}
	}
	if got := s.StatusCalls(); got != 4 {
		t.Fatalf("StatusCalls = %d, want 4", got)
	}
}

func TestGetPaymentStatus_FullData(t *testing.T) {
	s := newServer(t)
	c := sendPayment(t, s, "topup-1", "", "")
	failedID, _ := s.Fail(c.InvoiceID)
	paidID, _ := s.Pay(c.InvoiceID)
	d, raw := getStatus(t, s, paidID, "PaymentId")

	if d.InvoiceStatus != fakemyfatoorah.InvoicePaid || d.InvoiceValue.String() != "5.000" ||
		d.InvoiceDisplayValue != "5.000 KD" || d.UserDefinedField != "user-7" || d.CustomerName != "Test" ||
		d.CustomerEmail != "t@example.com" || d.CustomerMobile != "96512345" || d.InvoiceReference == "" ||
		d.CreatedDate == "" || d.ExpiryDate == "" || d.ExpiryTime == "" {
		t.Fatalf("Data %+v", d)
	}
	if len(d.InvoiceTransactions) != 2 {
		t.Fatalf("transactions %+v", d.InvoiceTransactions)
	}
	failed, paid := d.InvoiceTransactions[0], d.InvoiceTransactions[1]
	if failed.PaymentID != failedID || failed.TransactionStatus != "Failed" || failed.Error == "" {
		t.Fatalf("failed tx %+v", failed)
	}
	if paid.PaymentID != paidID || paid.TransactionStatus != "Succss" || paid.TransationValue != "5.000" ||
		paid.PaidCurrency != "KD" || paid.Currency != "KD" || paid.TransactionID == "" || paid.PaymentGateway == "" {
		t.Fatalf("paid tx %+v", paid)
	}
	// The misspellings and types are on the wire, not only in our structs.
	for _, want := range []string{`"TransactionStatus":"Succss"`, `"TransationValue":"5.000"`, `"InvoiceValue":5.000`,
		`"InvoiceDisplayValue":"5.000 KD"`, `"InvoiceStatus":"Paid"`, `"PaidCurrency":"KD"`, `"InvoiceItems":[]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("body lacks %s:\n%s", want, raw)
		}
	}
	if strings.Contains(string(raw), `"TransactionValue"`) || strings.Contains(string(raw), `"Success"`) {
		t.Errorf("body has a corrected spelling:\n%s", raw)
	}
}

func TestGetPaymentStatus_Errors(t *testing.T) {
	s := newServer(t)
	sendPayment(t, s, "ref", "", "")
	for _, body := range []any{
		map[string]any{"Key": 999, "KeyType": "InvoiceId"},
		map[string]any{"Key": "nope", "KeyType": "PaymentId"},
		map[string]any{"Key": "other", "KeyType": "CustomerReference"},
		map[string]any{"Key": "1", "KeyType": "Whatever"},
		map[string]any{"KeyType": "InvoiceId"},
		`{not json`,
	} {
		status, raw := call(t, s, fakemyfatoorah.PathGetPaymentStatus, body)
		env := decodeEnvelope(t, raw)
		if status != http.StatusBadRequest || env.IsSuccess || env.Message == "" {
			t.Errorf("%v: %d %s", body, status, raw)
		}
	}
}

func TestInitiatePayment(t *testing.T) {
	s := newServer(t)
	status, raw := call(t, s, fakemyfatoorah.PathInitiatePayment, map[string]any{"InvoiceAmount": 5.000, "CurrencyIso": "KWD"})
	env := decodeEnvelope(t, raw)
	if status != http.StatusOK || !env.IsSuccess {
		t.Fatalf("%d %s", status, raw)
	}
	var data struct {
		PaymentMethods []struct {
			PaymentMethodID   int `json:"PaymentMethodId"`
			PaymentMethodEn   string
			PaymentMethodCode string
			TotalAmount       json.Number
			CurrencyIso       string
		}
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatal(err)
	}
	if len(data.PaymentMethods) == 0 || data.PaymentMethods[0].PaymentMethodID == 0 ||
		data.PaymentMethods[0].TotalAmount.String() != "5.000" || data.PaymentMethods[0].CurrencyIso != "KWD" {
		t.Fatalf("PaymentMethods %+v", data.PaymentMethods)
	}
	if status, _ := call(t, s, fakemyfatoorah.PathInitiatePayment, map[string]any{"InvoiceAmount": 0}); status != http.StatusBadRequest {
		t.Fatalf("zero amount: %d", status)
	}
}

func TestUnknownRoute(t *testing.T) {
	s := newServer(t)
	status, raw := call(t, s, "/v2/NoSuchThing", `{}`)
	var body struct{ Message, MessageDetail string }
	if err := json.Unmarshal(raw, &body); err != nil || status != http.StatusNotFound ||
		!strings.HasPrefix(body.Message, "No HTTP resource was found") {
		t.Fatalf("%d %s", status, raw)
	}
}
