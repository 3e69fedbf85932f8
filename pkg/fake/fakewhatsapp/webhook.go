package fakewhatsapp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/resayil/portal/pkg/whatsapp"
)

// webhookTimeout bounds one webhook delivery, as Meta does not wait long
// for an endpoint either.
const webhookTimeout = 10 * time.Second

// WABAID is the WhatsApp Business Account id the fake's webhooks carry in
// entry[].id.
const WABAID = "102290129340398"

// PostStatuses posts one webhook with these statuses to url, signed with the
// app secret, in the given order (tests send them out of order). A status
// with a zero Timestamp gets the current time; a "failed" one without
// Errors gets 131026 (undeliverable). Any answer but 200 is an error, as it
// is for Meta, which would deliver again later.
func (s *Server) PostStatuses(ctx context.Context, url string, statuses ...whatsapp.Status) error {
	body, err := json.Marshal(s.statusWebhook(statuses))
	if err != nil {
		return fmt.Errorf("fakewhatsapp: encode webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("fakewhatsapp: webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	if s.opts.AppSecret != "" {
		req.Header.Set(whatsapp.SignatureHeader, Sign(s.opts.AppSecret, body))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("fakewhatsapp: post webhook: %w", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fakewhatsapp: webhook answered %d: %s", resp.StatusCode, answer)
	}
	return nil
}

// Sign returns the X-Hub-Signature-256 value Meta puts on body:
// "sha256=" and the lowercase hex HMAC-SHA256 of the raw bytes, keyed with
// the app secret.
func Sign(appSecret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// The webhook payload, in the field order Meta writes it.
type webhookJSON struct {
	Object string      `json:"object"`
	Entry  []entryJSON `json:"entry"`
}

type entryJSON struct {
	ID      string       `json:"id"`
	Changes []changeJSON `json:"changes"`
}

type changeJSON struct {
	Value valueJSON `json:"value"`
	Field string    `json:"field"`
}

type valueJSON struct {
	MessagingProduct string         `json:"messaging_product"`
	Metadata         map[string]any `json:"metadata"`
	Statuses         []statusJSON   `json:"statuses"`
}

type statusJSON struct {
	ID           string         `json:"id"`
	Status       string         `json:"status"`
	Timestamp    string         `json:"timestamp"`
	RecipientID  string         `json:"recipient_id"`
	Conversation map[string]any `json:"conversation,omitempty"`
	Pricing      map[string]any `json:"pricing,omitempty"`
	Errors       []errorJSON    `json:"errors,omitempty"`
}

type errorJSON struct {
	Code      int               `json:"code"`
	Title     string            `json:"title"`
	Message   string            `json:"message"`
	ErrorData map[string]string `json:"error_data"`
	Href      string            `json:"href"`
}

func (s *Server) statusWebhook(statuses []whatsapp.Status) webhookJSON {
	phoneID := s.opts.PhoneNumberID
	if phoneID == "" {
		phoneID = "106540352242922"
	}
	v := valueJSON{
		MessagingProduct: "whatsapp",
		Metadata:         map[string]any{"display_phone_number": "15550000000", "phone_number_id": phoneID},
	}
	for _, st := range statuses {
		ts := st.Timestamp
		if ts.IsZero() {
			ts = time.Now()
		}
		sj := statusJSON{
			ID:          st.MessageID,
			Status:      st.Status,
			Timestamp:   strconv.FormatInt(ts.Unix(), 10),
			RecipientID: st.RecipientID,
		}
		if st.Status == "failed" {
			errs := st.Errors
			if len(errs) == 0 {
				k := knownErrors[131026]
				errs = []whatsapp.StatusError{{Code: 131026, Title: k.title, Message: k.title, Details: k.details}}
			}
			for _, e := range errs {
				sj.Errors = append(sj.Errors, errorJSON{
					Code: e.Code, Title: e.Title, Message: e.Message,
					ErrorData: map[string]string{"details": e.Details},
					Href:      "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
				})
			}
		} else {
			// Present on sent and delivered under the older pricing; read
			// statuses carry neither. Readers must treat both as optional.
			if st.Status == "sent" || st.Status == "delivered" {
				sj.Conversation = map[string]any{"id": "CONVERSATION_" + st.MessageID, "origin": map[string]string{"type": "utility"}}
				sj.Pricing = map[string]any{"billable": true, "pricing_model": "CBP", "category": "utility"}
			}
		}
		v.Statuses = append(v.Statuses, sj)
	}
	return webhookJSON{
		Object: "whatsapp_business_account",
		Entry:  []entryJSON{{ID: WABAID, Changes: []changeJSON{{Value: v, Field: "messages"}}}},
	}
}

// VerifyCallback plays Meta's subscription handshake against a webhook
// endpoint: GET url?hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=…,
// which must answer 200 with exactly the challenge as the body.
func (s *Server) VerifyCallback(ctx context.Context, callbackURL, verifyToken string) error {
	u, err := url.Parse(callbackURL)
	if err != nil {
		return fmt.Errorf("fakewhatsapp: callback URL: %w", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	challenge := strconv.FormatUint(uint64(binary.BigEndian.Uint32(b[:])), 10)
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.challenge", challenge)
	q.Set("hub.verify_token", verifyToken)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("fakewhatsapp: handshake request: %w", err)
	}
	req.Header.Set("User-Agent", "facebookplatform/1.0 (+http://developers.facebook.com)")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("fakewhatsapp: handshake: %w", err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fakewhatsapp: handshake answered %d: %s", resp.StatusCode, got)
	}
	if string(got) != challenge {
		return fmt.Errorf("fakewhatsapp: handshake answered %q, want the challenge %q", got, challenge)
	}
	return nil
}
