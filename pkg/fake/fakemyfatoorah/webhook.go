package fakemyfatoorah

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/myfatoorahsig"
)

// WebhookVersion selects the webhook format configured in the MyFatoorah
// portal.
type WebhookVersion int

// Webhook versions.
const (
	WebhookV1 WebhookVersion = 1
	WebhookV2 WebhookVersion = 2
)

// ErrNoWebhook means Webhook was called before SetWebhook/WithWebhook.
var ErrNoWebhook = errors.New("fakemyfatoorah: no webhook configured")

type webhookConfig struct {
	url     string
	secret  string
	version WebhookVersion
}

func newWebhookConfig(url, secret string, version WebhookVersion) webhookConfig {
	if version != WebhookV1 && version != WebhookV2 {
		panic(fmt.Sprintf("fakemyfatoorah: webhook version must be 1 or 2, got %d", version))
	}
	return webhookConfig{url: url, secret: secret, version: version}
}

// SetWebhook configures webhooks as the MyFatoorah portal does: every later
// payment attempt (Pay, Fail, the hosted page) POSTs a signed event to url.
// An empty url sends nothing but still lets Webhook build events. An empty
// secret leaves the MyFatoorah-Signature header off (the real portal makes
// the secret mandatory for V2). version must be WebhookV1 or WebhookV2.
func (s *Server) SetWebhook(url, secret string, version WebhookVersion) {
	cfg := newWebhookConfig(url, secret, version)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = cfg
}

// WebhookRequest is a signed webhook ready to send: the exact body bytes and
// the headers (Content-Type and MyFatoorah-Signature).
type WebhookRequest struct {
	Body   []byte
	Header http.Header
}

// NewRequest builds a POST of the webhook to url. Each call gives a fresh
// request, so one WebhookRequest can be delivered many times concurrently.
func (w WebhookRequest) NewRequest(ctx context.Context, url string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(w.Body))
	if err != nil {
		return nil, err
	}
	req.Header = w.Header.Clone()
	return req, nil
}

// Webhook builds, without sending, the signed webhook for the invoice's
// latest transaction, in the configured version and secret. Each call
// carries a new Event.Reference (V2), as separate events do; the signature
// does not cover it. Tests deliver the result themselves, for example many
// times concurrently to prove crediting happens once.
func (s *Server) Webhook(invoiceID int64) (WebhookRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[invoiceID]
	if !ok {
		return WebhookRequest{}, fmt.Errorf("%w: %d", ErrUnknownInvoice, invoiceID)
	}
	tx, ok := inv.lastTransaction()
	if !ok {
		return WebhookRequest{}, fmt.Errorf("fakemyfatoorah: invoice %d has no transaction yet", invoiceID)
	}
	return s.buildWebhookLocked(inv, tx)
}

// Delivery records one webhook POST the fake made.
type Delivery struct {
	InvoiceID  int64
	PaymentID  string
	StatusCode int   // 0 when the request failed
	Err        error // transport or build error
}

// Deliveries returns the webhook POSTs made so far, oldest first. The fake
// sends each event once and does not retry; tests that need retries or
// duplicates redeliver with Webhook.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

func (s *Server) deliver(url string, invoiceID int64, paymentID string, wr WebhookRequest, buildErr error) {
	d := Delivery{InvoiceID: invoiceID, PaymentID: paymentID, Err: buildErr}
	if buildErr == nil {
		d.StatusCode, d.Err = s.post(url, wr)
	}
	s.log.Info("fakemyfatoorah: webhook delivered", "url", url, "invoice_id", invoiceID, "status", d.StatusCode, "err", d.Err)
	s.mu.Lock()
	s.deliveries = append(s.deliveries, d)
	s.mu.Unlock()
}

func (s *Server) post(url string, wr WebhookRequest) (int, error) {
	req, err := wr.NewRequest(context.Background(), url)
	if err != nil {
		return 0, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// buildWebhookLocked renders and signs the event for one transaction. The
// caller holds s.mu.
func (s *Server) buildWebhookLocked(inv *invoice, tx Transaction) (WebhookRequest, error) {
	cfg := s.webhook
	if cfg.version == 0 {
		return WebhookRequest{}, ErrNoWebhook
	}
	now := s.now()
	var body []byte
	var err error
	if cfg.version == WebhookV1 {
		body, err = json.Marshal(v1Event(inv, tx, now))
	} else {
		s.seq++
		body, err = json.Marshal(v2Event(inv, tx, now, fmt.Sprintf("WH-%06d", s.seq)))
	}
	if err != nil {
		return WebhookRequest{}, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	if cfg.secret != "" {
		var sig string
		if cfg.version == WebhookV1 {
			sig, err = myfatoorahsig.SignV1Event(body, cfg.secret)
		} else {
			sig, err = myfatoorahsig.SignV2PaymentStatus(body, cfg.secret)
		}
		if err != nil {
			return WebhookRequest{}, err
		}
		h.Set(myfatoorahsig.Header, sig)
	}
	return WebhookRequest{Body: body, Header: h}, nil
}

// webhookStatus is the upper-case transaction status webhooks use, unlike
// GetPaymentStatus's "Succss".
func webhookStatus(tx Transaction) string {
	if tx.Status == TransactionSucceeded {
		return "SUCCESS"
	}
	return "FAILED"
}

// nullable turns "" into JSON null, as MyFatoorah sends absent customer
// fields (the signed V1 text is then "CustomerEmail=").
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type v1Body struct {
	EventType      int    `json:"EventType"`
	Event          string `json:"Event"`
	DateTime       string `json:"DateTime"`
	CountryIsoCode string `json:"CountryIsoCode"`
	Data           v1Data `json:"Data"`
}

// v1Data is event 1's Data, fields in the docs' order. Amounts are strings.
type v1Data struct {
	InvoiceID                    int64   `json:"InvoiceId"`
	InvoiceReference             string  `json:"InvoiceReference"`
	CreatedDate                  string  `json:"CreatedDate"`
	CustomerReference            *string `json:"CustomerReference"`
	CustomerName                 string  `json:"CustomerName"`
	CustomerMobile               *string `json:"CustomerMobile"`
	CustomerEmail                *string `json:"CustomerEmail"`
	TransactionStatus            string  `json:"TransactionStatus"`
	PaymentMethod                string  `json:"PaymentMethod"`
	UserDefinedField             *string `json:"UserDefinedField"`
	ReferenceID                  string  `json:"ReferenceId"`
	TrackID                      string  `json:"TrackId"`
	PaymentID                    string  `json:"PaymentId"`
	AuthorizationID              string  `json:"AuthorizationId"`
	InvoiceValueInBaseCurrency   string  `json:"InvoiceValueInBaseCurrency"`
	BaseCurrency                 string  `json:"BaseCurrency"`
	InvoiceValueInDisplayCurreny string  `json:"InvoiceValueInDisplayCurreny"` // sic
	DisplayCurrency              string  `json:"DisplayCurrency"`
	InvoiceValueInPayCurrency    string  `json:"InvoiceValueInPayCurrency"`
	PayCurrency                  string  `json:"PayCurrency"`
}

// v1Stamp is V1's ddMMyyyyHHmmss, in Kuwait time.
const v1Stamp = "02012006150405"

func v1Event(inv *invoice, tx Transaction, now time.Time) v1Body {
	value, cur := inv.reported()
	amount := value.Decimal()
	return v1Body{
		EventType: 1, Event: "TransactionsStatusChanged",
		DateTime: now.In(kuwait).Format(v1Stamp), CountryIsoCode: "KWT",
		Data: v1Data{
			InvoiceID: inv.ID, InvoiceReference: inv.Reference,
			CreatedDate:       inv.Created.In(kuwait).Format(v1Stamp),
			CustomerReference: nullable(inv.CustomerReference), CustomerName: inv.CustomerName,
			CustomerMobile: nullable(inv.CustomerMobile), CustomerEmail: nullable(inv.CustomerEmail),
			TransactionStatus: webhookStatus(tx), PaymentMethod: paymentGateway,
			UserDefinedField: nullable(inv.UserDefinedField),
			ReferenceID:      tx.ReferenceID, TrackID: tx.TrackID, PaymentID: tx.PaymentID,
			AuthorizationID:            tx.AuthorizationID,
			InvoiceValueInBaseCurrency: amount, BaseCurrency: cur,
			InvoiceValueInDisplayCurreny: amount, DisplayCurrency: cur,
			InvoiceValueInPayCurrency: amount, PayCurrency: cur,
		},
	}
}

// v2Body follows the V2 payment-status data model. Where the docs give a
// type it is used (Invoice.Id is a string); amounts as strings, like V1's,
// are an assumption the docs do not confirm. ExternalIdentifier is null
// because the docs do not say what it holds: match on Invoice.Id, then ask
// GetPaymentStatus.
type v2Body struct {
	Event struct {
		Code           int    `json:"Code"`
		Name           string `json:"Name"`
		CountryIsoCode string `json:"CountryIsoCode"`
		CreationDate   string `json:"CreationDate"`
		Reference      string `json:"Reference"`
	} `json:"Event"`
	Data struct {
		Invoice struct {
			ID                 string  `json:"Id"`
			Status             string  `json:"Status"`
			Reference          string  `json:"Reference"`
			CreationDate       string  `json:"CreationDate"`
			ExpirationDate     string  `json:"ExpirationDate"`
			UserDefinedField   *string `json:"UserDefinedField"`
			ExternalIdentifier *string `json:"ExternalIdentifier"`
			MetaData           any     `json:"MetaData"`
		} `json:"Invoice"`
		Transaction struct {
			ID              string   `json:"Id"`
			Status          string   `json:"Status"`
			PaymentMethod   string   `json:"PaymentMethod"`
			PaymentID       string   `json:"PaymentId"`
			ReferenceID     string   `json:"ReferenceId"`
			TrackID         string   `json:"TrackId"`
			AuthorizationID string   `json:"AuthorizationId"`
			TransactionDate string   `json:"TransactionDate"`
			ECI             string   `json:"ECI"`
			IP              string   `json:"IP"`
			Error           *v2Error `json:"Error"`
			Card            any      `json:"Card"`
		} `json:"Transaction"`
		Customer struct {
			Reference *string `json:"Reference"`
			Name      string  `json:"Name"`
			Mobile    *string `json:"Mobile"`
			Email     *string `json:"Email"`
		} `json:"Customer"`
		Amount struct {
			BaseCurrency           string `json:"BaseCurrency"`
			ValueInBaseCurrency    string `json:"ValueInBaseCurrency"`
			ServiceCharge          string `json:"ServiceCharge"`
			ServiceChargeVAT       string `json:"ServiceChargeVAT"`
			ReceivableAmount       string `json:"ReceivableAmount"`
			DisplayCurrency        string `json:"DisplayCurrency"`
			ValueInDisplayCurrency string `json:"ValueInDisplayCurrency"`
			PayCurrency            string `json:"PayCurrency"`
			ValueInPayCurrency     string `json:"ValueInPayCurrency"`
		} `json:"Amount"`
	} `json:"Data"`
}

type v2Error struct {
	Code    string `json:"Code"`
	Message string `json:"Message"`
}

func v2Event(inv *invoice, tx Transaction, now time.Time, ref string) v2Body {
	iso := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	var b v2Body
	b.Event.Code, b.Event.Name = myfatoorahsig.EventPaymentStatusChanged, "PAYMENT_STATUS_CHANGED"
	b.Event.CountryIsoCode, b.Event.CreationDate, b.Event.Reference = "KWT", iso(now), ref

	in := &b.Data.Invoice
	in.ID, in.Status, in.Reference = fmt.Sprint(inv.ID), strings.ToUpper(inv.Status), inv.Reference
	in.CreationDate, in.ExpirationDate = iso(inv.Created), iso(inv.Expiry)
	in.UserDefinedField = nullable(inv.UserDefinedField)

	t := &b.Data.Transaction
	t.ID, t.Status, t.PaymentMethod, t.PaymentID = tx.TransactionID, webhookStatus(tx), paymentGateway, tx.PaymentID
	t.ReferenceID, t.TrackID, t.AuthorizationID = tx.ReferenceID, tx.TrackID, tx.AuthorizationID
	t.TransactionDate, t.IP = iso(tx.Date), "127.0.0.1"
	if tx.Status == TransactionFailed {
		t.Error = &v2Error{Code: tx.ErrorCode, Message: tx.Error}
	}

	c := &b.Data.Customer
	c.Reference, c.Name = nullable(inv.CustomerReference), inv.CustomerName
	c.Mobile, c.Email = nullable(inv.CustomerMobile), nullable(inv.CustomerEmail)

	value, cur := inv.reported()
	a := &b.Data.Amount
	a.BaseCurrency, a.ValueInBaseCurrency = cur, value.Decimal()
	a.ServiceCharge, a.ServiceChargeVAT, a.ReceivableAmount = "0.000", "0.000", value.Decimal()
	a.DisplayCurrency, a.ValueInDisplayCurrency = cur, value.Decimal()
	a.PayCurrency, a.ValueInPayCurrency = cur, value.Decimal()
	return b
}
