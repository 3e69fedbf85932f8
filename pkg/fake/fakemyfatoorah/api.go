package fakemyfatoorah

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// ValidationError is one entry of the envelope's ValidationErrors.
type ValidationError struct {
	Name  string `json:"Name"`
	Error string `json:"Error"`
}

// envelope is every API answer. A nil ValidationErrors or Data is
// written as null, as the real service does.
type envelope struct {
	IsSuccess        bool              `json:"IsSuccess"`
	Message          string            `json:"Message"`
	ValidationErrors []ValidationError `json:"ValidationErrors"`
	Data             any               `json:"Data"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeOK(w http.ResponseWriter, message string, data any) {
	writeJSON(w, http.StatusOK, envelope{IsSuccess: true, Message: message, Data: data})
}

// invalid answers a validation failure. MyFatoorah's documentation does
// not say its status code, so clients must decide on IsSuccess.
func invalid(w http.ResponseWriter, message string, errs []ValidationError) {
	writeJSON(w, http.StatusBadRequest, envelope{Message: message, ValidationErrors: errs})
}

// decodeBody reads a JSON request body. Field names match case-insensitively,
// as ASP.NET's binder does.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		invalid(w, "Invalid request body", []ValidationError{{Name: "request", Error: err.Error()}})
		return false
	}
	return true
}

// text accepts a JSON string, number or null, since clients send ids and
// references either way.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %s", b)
		}
		*t = text(n)
	}
	return nil
}

type sendPaymentRequest struct {
	InvoiceValue       json.Number
	CustomerName       string
	NotificationOption string
	DisplayCurrencyIso string
	MobileCountryCode  string
	CustomerMobile     string
	CustomerEmail      string
	CallBackURL        string `json:"CallBackUrl"`
	ErrorURL           string `json:"ErrorUrl"`
	Language           string
	CustomerReference  text
	UserDefinedField   text
	ExpiryDate         string
	InvoiceItems       []struct {
		ItemName  string
		Quantity  json.Number
		UnitPrice json.Number
	}
}

type sendPaymentData struct {
	InvoiceID         int64   `json:"InvoiceId"`
	InvoiceURL        string  `json:"InvoiceURL"`
	CustomerReference *string `json:"CustomerReference"`
	UserDefinedField  *string `json:"UserDefinedField"`
}

// defaultExpiry is used when SendPayment gives no ExpiryDate; the real
// default is an account setting.
const defaultExpiry = 72 * time.Hour

func (s *Server) sendPayment(w http.ResponseWriter, r *http.Request) {
	var req sendPaymentRequest
	if !decodeBody(w, r, &req) {
		return
	}
	now := s.now()
	inv, errs := s.validateSendPayment(req, now)
	if len(errs) > 0 {
		invalid(w, "Invalid data", errs)
		return
	}
	s.mu.Lock()
	s.lastInvoice++
	inv.ID = s.lastInvoice
	inv.Reference = fmt.Sprintf("%d%06d", now.In(kuwait).Year(), len(s.order)+1)
	s.invoices[inv.ID] = &invoice{Invoice: inv}
	s.order = append(s.order, inv.ID)
	s.mu.Unlock()

	writeOK(w, "Invoice Created Successfully!", sendPaymentData{
		InvoiceID:         inv.ID,
		InvoiceURL:        fmt.Sprintf("http://%s/pay/%d", r.Host, inv.ID),
		CustomerReference: nullable(inv.CustomerReference),
		UserDefinedField:  nullable(inv.UserDefinedField),
	})
}

func (s *Server) validateSendPayment(req sendPaymentRequest, now time.Time) (Invoice, []ValidationError) {
	var errs []ValidationError
	add := func(name, format string, args ...any) {
		errs = append(errs, ValidationError{Name: name, Error: fmt.Sprintf(format, args...)})
	}
	inv := Invoice{
		Status: InvoicePending, Currency: "KWD",
		CustomerName: strings.TrimSpace(req.CustomerName), CustomerEmail: req.CustomerEmail,
		CustomerMobile: req.CustomerMobile, MobileCountryCode: req.MobileCountryCode,
		CustomerReference: string(req.CustomerReference), UserDefinedField: string(req.UserDefinedField),
		NotificationOption: strings.ToUpper(req.NotificationOption),
		CallBackURL:        req.CallBackURL, ErrorURL: req.ErrorURL, Language: req.Language,
		Created: now, Expiry: now.Add(defaultExpiry),
	}
	if req.InvoiceValue == "" {
		add("InvoiceValue", "The InvoiceValue field is required.")
	} else if v, err := parseFils(req.InvoiceValue.String()); err != nil || v <= 0 {
		add("InvoiceValue", "InvoiceValue must be greater than zero with at most 3 decimals.")
	} else {
		inv.Value = v
	}
	if inv.CustomerName == "" {
		add("CustomerName", "The CustomerName field is required.")
	}
	switch inv.NotificationOption {
	case "":
		add("NotificationOption", "The NotificationOption field is required.")
	case "LNK":
	case "EML", "SMS", "ALL":
		if inv.NotificationOption != "SMS" && inv.CustomerEmail == "" {
			add("CustomerEmail", "CustomerEmail is required when NotificationOption is %s.", inv.NotificationOption)
		}
		if inv.NotificationOption != "EML" && inv.CustomerMobile == "" {
			add("CustomerMobile", "CustomerMobile is required when NotificationOption is %s.", inv.NotificationOption)
		}
	default:
		add("NotificationOption", "NotificationOption must be one of LNK, EML, SMS, ALL.")
	}
	if c := strings.ToUpper(req.DisplayCurrencyIso); c != "" {
		if len(c) != 3 || !isUpperLetters(c) {
			add("DisplayCurrencyIso", "DisplayCurrencyIso must be an ISO 4217 code.")
		}
		inv.Currency = c
	}
	if len(req.CustomerMobile) > 11 || !digits(req.CustomerMobile) {
		add("CustomerMobile", "CustomerMobile must be at most 11 digits.")
	}
	for _, f := range [...]struct{ name, url string }{{"CallBackUrl", req.CallBackURL}, {"ErrorUrl", req.ErrorURL}} {
		if msg := s.checkURL(f.url); msg != "" {
			add(f.name, "%s %s", f.name, msg)
		}
	}
	if req.ExpiryDate != "" {
		if t, err := parseExpiry(req.ExpiryDate); err != nil {
			add("ExpiryDate", "ExpiryDate is not a valid date.")
		} else if !t.After(now) {
			add("ExpiryDate", "ExpiryDate must be in the future.")
		} else {
			inv.Expiry = t
		}
	}
	if len(req.InvoiceItems) > 0 {
		var total resayil.Fils
		for i, it := range req.InvoiceItems {
			q, qerr := it.Quantity.Int64()
			p, perr := parseFils(it.UnitPrice.String())
			if it.ItemName == "" || qerr != nil || q <= 0 || perr != nil {
				add(fmt.Sprintf("InvoiceItems[%d]", i), "Each item needs ItemName, a positive Quantity and a UnitPrice.")
				continue
			}
			inv.Items = append(inv.Items, Item{Name: it.ItemName, Quantity: q, UnitPrice: p})
			total += resayil.Fils(q) * p
		}
		if inv.Value > 0 && len(inv.Items) == len(req.InvoiceItems) && total != inv.Value {
			add("InvoiceValue", "InvoiceValue must equal the total of InvoiceItems (%s).", total.Decimal())
		}
	}
	return inv, errs
}

// checkURL applies the real limits on callback URLs: absolute,
// at most 254 characters, and not on host "localhost".
func (s *Server) checkURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "must be an absolute http(s) URL."
	case len(raw) > 254:
		return "must be at most 254 characters."
	case strings.EqualFold(u.Hostname(), "localhost") && !s.allowLocalhost:
		return "must not point to localhost."
	}
	return ""
}

func parseExpiry(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, kuwait); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", v)
}

func isUpperLetters(s string) bool {
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

type initiatePaymentMethod struct {
	PaymentMethodID     int    `json:"PaymentMethodId"`
	PaymentMethodAr     string `json:"PaymentMethodAr"`
	PaymentMethodEn     string `json:"PaymentMethodEn"`
	PaymentMethodCode   string `json:"PaymentMethodCode"`
	IsDirectPayment     bool   `json:"IsDirectPayment"`
	ServiceCharge       json.Number
	TotalAmount         json.Number
	CurrencyIso         string
	ImageURL            string `json:"ImageUrl"`
	IsEmbeddedSupported bool
}

// initiatePayment lists a fixed set of payment methods.
func (s *Server) initiatePayment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InvoiceAmount json.Number
		CurrencyIso   string
	}
	if !decodeBody(w, r, &req) {
		return
	}
	amount, err := parseFils(req.InvoiceAmount.String())
	if err != nil || amount <= 0 {
		invalid(w, "Invalid data", []ValidationError{{Name: "InvoiceAmount", Error: "InvoiceAmount must be greater than zero."}})
		return
	}
	cur := strings.ToUpper(req.CurrencyIso)
	if cur == "" {
		cur = "KWD"
	}
	total := json.Number(amount.Decimal())
	method := func(id int, ar, en, code string, embedded bool) initiatePaymentMethod {
		return initiatePaymentMethod{
			PaymentMethodID: id, PaymentMethodAr: ar, PaymentMethodEn: en, PaymentMethodCode: code,
			ServiceCharge: "0.000", TotalAmount: total, CurrencyIso: cur,
			ImageURL: fmt.Sprintf("http://%s/static/%s.png", r.Host, code), IsEmbeddedSupported: embedded,
		}
	}
	writeOK(w, "Initiated Successfully!", map[string]any{"PaymentMethods": []initiatePaymentMethod{
		method(1, "كي نت", "KNET", "kn", false),
		method(2, "فيزا / ماستر", "VISA/MASTER", "vm", true),
		method(11, "أبل الدفع", "Apple Pay", "ap", true),
	}})
}
