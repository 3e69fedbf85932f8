// Package whatsapp sends template messages through the WhatsApp Business
// Cloud API (Meta Graph) and reads its webhooks: the delivery statuses Meta
// posts back, and the X-Hub-Signature-256 header that proves Meta sent them.
//
// The wire contract, as Meta's docs and official Node SDK give it:
//
//	POST {base}/{version}/{phone-number-id}/messages
//	Authorization: Bearer <token>
//	{"messaging_product":"whatsapp","recipient_type":"individual","to":"96550000000",
//	 "type":"template","template":{"name":…,"language":{"code":"ar"},
//	  "components":[{"type":"body","parameters":[{"type":"text","text":…},…]},
//	                {"type":"button","sub_type":"url","index":"0","parameters":[{"type":"text","text":<code>}]}]}}
//	200 {"messaging_product":"whatsapp","contacts":[…],"messages":[{"id":"wamid.…","message_status":"accepted"}]}
//	4xx/5xx {"error":{"message","type","code","error_data":{"details"},"fbtrace_id"}}
//
// The button component is sent only for authentication (copy-code)
// templates. Errors from Graph come back as *Error; Classify sorts any error
// of this package into what a sender does next: retry later, give up on this
// message, or stop sending until an operator fixes the account. A 200 means
// accepted, not delivered: delivery comes later as a status webhook, read
// with VerifySignature and ParseStatuses and ordered with Rank.
//
// The package imports only the standard library. Its tests run it against
// the contract-exact fake in pkg/fake/fakewhatsapp, which never ships.
package whatsapp

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
)

// Config says where and as whom the client sends.
type Config struct {
	BaseURL       string       // "https://graph.facebook.com" in production; the fake's URL in development and tests
	APIVersion    string       // "v23.0"
	PhoneNumberID string       // the sending number's id in the WhatsApp Business Account, not the number itself
	Token         string       // a system-user or app access token with whatsapp_business_messaging
	HTTPClient    *http.Client // nil: a client with a 10 s timeout
}

// DefaultTimeout bounds one send when Config.HTTPClient is nil. Graph answers
// a send in well under a second; a send that hangs longer is better retried
// than waited for, since it holds an outbox worker.
const DefaultTimeout = 10 * time.Second

// maxResponse caps how much of an answer is read: both the success and the
// error bodies are a few hundred bytes.
const maxResponse = 1 << 20

// Client sends messages for one phone number. It is safe for concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
}

// New returns a client for cfg. It does not call Graph; a missing setting is
// reported by the first send, as ErrNotConfigured.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	return &Client{cfg: cfg, http: hc}
}

// Template is one template message. To is the recipient in international
// format (+96550000000 or 96550000000); the client sends digits only.
type Template struct {
	To         string
	Name       string
	Language   string   // the language code the template is registered under: "ar", "en"
	BodyParams []string // positional {{1}}, {{2}}, …
	CopyCode   string   // authentication templates only: the code, also sent as the URL button's (index "0") parameter
}

// Local errors: the message or the configuration is wrong before anything is
// sent. Classify puts ErrInvalid in Permanent and ErrNotConfigured in Paused.
var (
	ErrInvalid       = errors.New("whatsapp: invalid message")
	ErrNotConfigured = errors.New("whatsapp: client not configured")
)

// SendTemplate sends t and returns Meta's message id (messages[0].id, a
// "wamid.…"), which later status webhooks carry. A nil error means Graph
// accepted the message, not that it was delivered.
func (c *Client) SendTemplate(ctx context.Context, t Template) (messageID string, err error) {
	if err := c.checkConfig(); err != nil {
		return "", err
	}
	req, err := templateRequest(t)
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(req)
	if err != nil {
		return "", fmt.Errorf("whatsapp: encode request: %w", err)
	}
	url := c.cfg.BaseURL + "/" + c.cfg.APIVersion + "/" + c.cfg.PhoneNumberID + "/messages"
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("whatsapp: build request: %w", err)
	}
	hreq.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(hreq)
	if err != nil {
		// The message may or may not have reached Meta; Classify treats
		// this as Retry (a duplicate notification beats a lost one).
		return "", fmt.Errorf("whatsapp: send template %q: %w", t.Name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return "", fmt.Errorf("whatsapp: read answer to template %q: %w", t.Name, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", parseError(resp.StatusCode, raw)
	}
	var ok sendResponse
	if err := json.Unmarshal(raw, &ok); err != nil {
		return "", fmt.Errorf("whatsapp: decode answer to template %q: %w", t.Name, err)
	}
	if len(ok.Messages) == 0 || ok.Messages[0].ID == "" {
		return "", fmt.Errorf("whatsapp: answer to template %q has no messages[0].id: %.200s", t.Name, raw)
	}
	return ok.Messages[0].ID, nil
}

func (c *Client) checkConfig() error {
	var missing []string
	if c.cfg.BaseURL == "" {
		missing = append(missing, "base URL")
	}
	if c.cfg.APIVersion == "" {
		missing = append(missing, "API version")
	}
	if c.cfg.PhoneNumberID == "" {
		missing = append(missing, "phone number id")
	}
	if c.cfg.Token == "" {
		missing = append(missing, "token")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing %s", ErrNotConfigured, strings.Join(missing, ", "))
	}
	return nil
}
