// Package myfatoorah is billing's adapter to the MyFatoorah v2 API
// (https://docs.myfatoorah.com): SendPayment to create a
// payment link, GetPaymentStatus to learn what happened, and the V2
// webhook with its MyFatoorah-Signature.
//
// The provider's awkward details stay here: the IsSuccess envelope and the
// bodies that are not one (an empty 401, an HTML 403 from the Azure
// gateway), amounts as decimal numbers read exactly into fils (never
// through a float), "5.000 KD" display values whose "KD" means KWD, the
// invoice status "Paid" and the transaction status "Succss" (sic).
package myfatoorah

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/myfatoorahsig"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/billing"
)

// DefaultBaseURL is the live API for Kuwait (and UAE, Bahrain, Oman,
// Jordan) accounts; the test API is https://apitest.myfatoorah.com.
const DefaultBaseURL = "https://api.myfatoorah.com"

// DefaultTimeout bounds one API call.
const DefaultTimeout = 20 * time.Second

// Provider spellings. "Succss" is what MyFatoorah really sends.
const (
	invoicePaid     = "Paid"
	invoiceCanceled = "Canceled"
	txSucceeded     = "Succss"
	txFailed        = "Failed"
	// notificationLink makes SendPayment return the link only.
	notificationLink = "LNK"
)

// Config assembles a Client.
type Config struct {
	// BaseURL defaults to DefaultBaseURL; no trailing slash needed.
	BaseURL string
	// Token is the API token (Authorization: Bearer).
	Token string
	// WebhookSecret verifies MyFatoorah-Signature; empty refuses every
	// webhook.
	WebhookSecret string
	// HTTP defaults to a client with DefaultTimeout.
	HTTP *http.Client
	Log  *slog.Logger
}

// Client calls MyFatoorah. It is safe for concurrent use.
type Client struct {
	base   string
	token  string
	secret string
	http   *http.Client
	log    *slog.Logger
}

var (
	_ billing.PaymentGateway = (*Client)(nil)
	_ billing.WebhookParser  = (*Client)(nil)
)

// New returns a Client.
func New(cfg Config) *Client {
	c := &Client{base: strings.TrimRight(cfg.BaseURL, "/"), token: cfg.Token, secret: cfg.WebhookSecret, http: cfg.HTTP, log: cfg.Log}
	if c.base == "" {
		c.base = DefaultBaseURL
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c
}

// envelope is every API answer.
type envelope struct {
	IsSuccess        bool              `json:"IsSuccess"`
	Message          string            `json:"Message"`
	ValidationErrors []validationError `json:"ValidationErrors"`
	FieldsErrors     []validationError `json:"FieldsErrors"`
	Data             json.RawMessage   `json:"Data"`
}

type validationError struct {
	Name  string `json:"Name"`
	Error string `json:"Error"`
}

// problem is what a failed envelope says, for logs and failure_reason.
func (e envelope) problem() string {
	var parts []string
	for _, v := range append(e.ValidationErrors, e.FieldsErrors...) {
		msg := v.Error
		if msg == "" {
			msg = e.Message // an empty Error: fall back to the envelope's Message
		}
		parts = append(parts, strings.TrimSpace(v.Name+": "+msg))
	}
	if len(parts) == 0 {
		var d struct {
			ErrorMessage string `json:"ErrorMessage"`
		}
		if json.Unmarshal(e.Data, &d) == nil && d.ErrorMessage != "" {
			parts = append(parts, d.ErrorMessage)
		}
	}
	if len(parts) == 0 && e.Message != "" {
		parts = append(parts, e.Message)
	}
	if len(parts) == 0 {
		return "IsSuccess false with no message"
	}
	return strings.Join(parts, "; ")
}

// call POSTs body to path and decodes the envelope. An unreachable API,
// an answer that is not an envelope, or IsSuccess false is a
// *billing.ProviderError; the envelope is returned with it when there was
// one.
func (c *Client) call(ctx context.Context, path string, body any) (envelope, error) {
	payload, err := json.Marshal(body)
	if err != nil {
		return envelope{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(payload))
	if err != nil {
		return envelope{}, &billing.ProviderError{Detail: "bad MyFatoorah base URL", Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	res, err := c.http.Do(req)
	if err != nil {
		return envelope{}, &billing.ProviderError{Detail: "cannot reach MyFatoorah (" + path + ")", Err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return envelope{}, &billing.ProviderError{Detail: "reading MyFatoorah's answer (" + path + ")", Err: err}
	}
	c.log.Debug("myfatoorah call", "path", path, "status", res.StatusCode, "ms", time.Since(start).Milliseconds())
	var env envelope
	if len(bytes.TrimSpace(raw)) == 0 || json.Unmarshal(raw, &env) != nil || (!env.IsSuccess && env.Message == "" && env.ValidationErrors == nil && env.Data == nil) {
		detail := fmt.Sprintf("MyFatoorah answered HTTP %d without its JSON envelope (%s)", res.StatusCode, path)
		if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
			detail = fmt.Sprintf("MyFatoorah refused the API token or this server's address (HTTP %d, %s)", res.StatusCode, path)
		}
		return envelope{}, &billing.ProviderError{Detail: detail}
	}
	if !env.IsSuccess {
		return env, &billing.ProviderError{Refused: true, Detail: fmt.Sprintf("MyFatoorah refused %s (HTTP %d): %s", path, res.StatusCode, env.problem())}
	}
	return env, nil
}

type sendPaymentRequest struct {
	InvoiceValue       json.Number `json:"InvoiceValue"`
	CustomerName       string      `json:"CustomerName"`
	NotificationOption string      `json:"NotificationOption"`
	DisplayCurrencyIso string      `json:"DisplayCurrencyIso"`
	CustomerReference  string      `json:"CustomerReference"`
	CallBackURL        string      `json:"CallBackUrl"`
	ErrorURL           string      `json:"ErrorUrl"`
	Language           string      `json:"Language,omitempty"`
	ExpiryDate         string      `json:"ExpiryDate"`
}

type sendPaymentData struct {
	InvoiceID  text   `json:"InvoiceId"`
	InvoiceURL string `json:"InvoiceURL"`
}

// kuwait is MyFatoorah's clock zone (UTC+3, no daylight saving).
var kuwait = time.FixedZone("AST", 3*60*60)

// CreateInvoice implements billing.PaymentGateway with SendPayment:
// NotificationOption LNK, InvoiceValue the price in KWD with three
// decimals, DisplayCurrencyIso KWD, CustomerReference our reference,
// CallBackUrl/ErrorUrl our return URL, ExpiryDate in Kuwait time. The link
// is Data.InvoiceURL and the id Data.InvoiceId.
func (c *Client) CreateInvoice(ctx context.Context, r billing.InvoiceRequest) (billing.Invoice, error) {
	lang := "en"
	if r.Locale == resayil.LocaleAR {
		lang = "ar"
	}
	env, err := c.call(ctx, "/v2/SendPayment", sendPaymentRequest{
		InvoiceValue: json.Number(r.Amount.Decimal()), CustomerName: r.CustomerName, NotificationOption: notificationLink,
		DisplayCurrencyIso: r.Currency, CustomerReference: r.Reference, CallBackURL: r.CallbackURL, ErrorURL: r.ErrorURL,
		Language: lang, ExpiryDate: r.ExpiresAt.In(kuwait).Format(time.RFC3339),
	})
	if err != nil {
		return billing.Invoice{}, err
	}
	var d sendPaymentData
	if err := json.Unmarshal(env.Data, &d); err != nil || d.InvoiceID == "" || d.InvoiceURL == "" {
		return billing.Invoice{}, &billing.ProviderError{Detail: "SendPayment answered without InvoiceId and InvoiceURL", Err: err}
	}
	return billing.Invoice{ID: string(d.InvoiceID), URL: d.InvoiceURL}, nil
}

type statusRequest struct {
	Key     string `json:"Key"`
	KeyType string `json:"KeyType"`
}

// statusData is the part of GetPaymentStatus's Data the portal
// reads.
type statusData struct {
	InvoiceID           text            `json:"InvoiceId"`
	InvoiceStatus       string          `json:"InvoiceStatus"`
	CustomerReference   text            `json:"CustomerReference"`
	InvoiceValue        json.RawMessage `json:"InvoiceValue"`
	InvoiceDisplayValue string          `json:"InvoiceDisplayValue"`
	InvoiceTransactions []struct {
		PaymentID         text   `json:"PaymentId"`
		TransactionID     text   `json:"TransactionId"`
		TransactionStatus string `json:"TransactionStatus"`
		Currency          string `json:"Currency"`
		Error             string `json:"Error"`
	} `json:"InvoiceTransactions"`
}

// PaymentStatus implements billing.PaymentGateway with GetPaymentStatus.
// It reads InvoiceId, InvoiceStatus ("Paid", "Canceled"), CustomerReference,
// InvoiceValue (exactly, else the amount of InvoiceDisplayValue), the
// currency of InvoiceDisplayValue ("KD" is KWD; else the transactions'
// Currency) and each transaction's PaymentId, TransactionId,
// TransactionStatus ("Succss", "Failed") and Error.
func (c *Client) PaymentStatus(ctx context.Context, key billing.StatusKey) (billing.ProviderPayment, error) {
	env, err := c.call(ctx, "/v2/GetPaymentStatus", statusRequest{Key: key.Value, KeyType: string(key.Type)})
	var pe *billing.ProviderError
	if errors.As(err, &pe) && pe.Refused && strings.Contains(strings.ToLower(env.Message), "no data match") {
		return billing.ProviderPayment{}, billing.ErrUnknownInvoice
	}
	if err != nil {
		return billing.ProviderPayment{}, err
	}
	var d statusData
	if err := json.Unmarshal(env.Data, &d); err != nil || d.InvoiceID == "" {
		return billing.ProviderPayment{}, &billing.ProviderError{Detail: "GetPaymentStatus answered without an InvoiceId", Err: err}
	}
	out := billing.ProviderPayment{
		InvoiceID: string(d.InvoiceID), Status: d.InvoiceStatus, Reference: string(d.CustomerReference),
		Paid: d.InvoiceStatus == invoicePaid, Canceled: d.InvoiceStatus == invoiceCanceled,
	}
	dispAmount, dispCurrency, dispOK := parseDisplayValue(d.InvoiceDisplayValue)
	if v, ok := parseNumber(d.InvoiceValue); ok {
		out.Amount, out.AmountKnown = v, true
	} else if dispOK {
		out.Amount, out.AmountKnown = dispAmount, true
	}
	out.Currency = dispCurrency
	for _, t := range d.InvoiceTransactions {
		out.Transactions = append(out.Transactions, billing.ProviderTransaction{
			PaymentID: string(t.PaymentID), TransactionID: string(t.TransactionID), Status: t.TransactionStatus,
			Succeeded: t.TransactionStatus == txSucceeded, Failed: t.TransactionStatus == txFailed, Error: t.Error,
		})
		if out.Currency == "" && t.Currency != "" {
			out.Currency = isoCurrency(t.Currency)
		}
	}
	return out, nil
}

// ParseWebhook implements billing.WebhookParser for webhook V2: events 1
// (PAYMENT_STATUS_CHANGED) and 2 (REFUND_STATUS_CHANGED) must carry a valid
// MyFatoorah-Signature (HMAC-SHA256 of the fixed field list,
// pkg/myfatoorahsig); a bad or missing one is billing.ErrBadSignature. Event
// 1 yields Data.Invoice.Id and Data.Transaction.PaymentId. Other event codes
// have no known field list; they are returned unhandled (and unverified),
// which billing acknowledges without acting.
func (c *Client) ParseWebhook(body []byte, signature string) (billing.WebhookEvent, error) {
	var env struct {
		Event struct {
			Code json.Number `json:"Code"`
		} `json:"Event"`
		Data struct {
			Invoice struct {
				ID text `json:"Id"`
			} `json:"Invoice"`
			Transaction struct {
				PaymentID text `json:"PaymentId"`
			} `json:"Transaction"`
		} `json:"Data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&env); err != nil {
		return billing.WebhookEvent{}, billing.ErrBadSignature
	}
	code, _ := env.Event.Code.Int64()
	if code != myfatoorahsig.EventPaymentStatusChanged && code != myfatoorahsig.EventRefundStatusChanged {
		return billing.WebhookEvent{}, nil
	}
	if err := myfatoorahsig.VerifyV2(body, c.secret, signature); err != nil {
		c.log.Warn("myfatoorah webhook refused", "reason", err)
		return billing.WebhookEvent{}, billing.ErrBadSignature
	}
	if code != myfatoorahsig.EventPaymentStatusChanged {
		return billing.WebhookEvent{}, nil
	}
	return billing.WebhookEvent{PaymentStatusChanged: true, InvoiceID: string(env.Data.Invoice.ID), PaymentID: string(env.Data.Transaction.PaymentID)}, nil
}
