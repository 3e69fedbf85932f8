package whatsapp

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header Meta signs webhook bodies with.
const SignatureHeader = "X-Hub-Signature-256"

// VerifySignature checks X-Hub-Signature-256 ("sha256=<lowercase hex
// HMAC-SHA256(raw body, app secret)>") in constant time. body must be the
// exact bytes received: re-encoded JSON does not verify. An empty app
// secret never verifies, so a missing setting cannot open the endpoint.
func VerifySignature(appSecret string, header string, body []byte) bool {
	if appSecret == "" {
		return false
	}
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

// Status is one entry of value.statuses[] of a webhook (field "messages").
type Status struct {
	MessageID   string    // statuses[].id, the wamid
	Status      string    // "sent", "delivered", "read", "failed"
	RecipientID string    // digits only, as Graph writes it
	Timestamp   time.Time // from the string of Unix seconds
	Errors      []StatusError
}

// StatusError is one entry of statuses[].errors[], present when Status is
// "failed". Details is error_data.details. Classify it with
// Classify(StatusError.AsError()).
type StatusError struct {
	Code                    int
	Title, Message, Details string
}

// AsError returns the status error as an *Error (HTTP status 0), so that
// Classify sorts an asynchronous failure the same way as a synchronous one.
func (se StatusError) AsError() *Error {
	msg := se.Message
	if msg == "" {
		msg = se.Title
	}
	return &Error{Code: se.Code, Message: msg, Details: se.Details, coded: true}
}

// The webhook envelope; only what statuses need.
type webhookJSON struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value struct {
				Statuses []statusJSON `json:"statuses"`
			} `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

type statusJSON struct {
	ID          string          `json:"id"`
	Status      string          `json:"status"`
	Timestamp   json.RawMessage `json:"timestamp"`
	RecipientID string          `json:"recipient_id"`
	Errors      []struct {
		Code      int    `json:"code"`
		Title     string `json:"title"`
		Message   string `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"errors"`
}

// ParseStatuses reads every status of a webhook body; inbound messages and
// other fields are ignored. The statuses come in the body's order, which is
// not the order they happened in: sort or compare with Rank and Timestamp.
// A body that is not a WhatsApp Business Account webhook, or a status
// without id, status or a readable timestamp, is an error: the body is
// signed, so a malformed one means this parser is wrong and must not be
// acknowledged as handled.
func ParseStatuses(body []byte) ([]Status, error) {
	var w webhookJSON
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("whatsapp: webhook body: %w", err)
	}
	if w.Object != "whatsapp_business_account" {
		return nil, fmt.Errorf("whatsapp: webhook object is %q, not whatsapp_business_account", w.Object)
	}
	var out []Status
	for _, e := range w.Entry {
		for _, c := range e.Changes {
			if c.Field != "messages" {
				continue
			}
			for _, s := range c.Value.Statuses {
				st, err := s.status()
				if err != nil {
					return nil, err
				}
				out = append(out, st)
			}
		}
	}
	return out, nil
}

func (s statusJSON) status() (Status, error) {
	if s.ID == "" || s.Status == "" {
		return Status{}, fmt.Errorf("whatsapp: webhook status without id or status: id %q status %q", s.ID, s.Status)
	}
	ts, err := unixSeconds(s.Timestamp)
	if err != nil {
		return Status{}, fmt.Errorf("whatsapp: webhook status %s %s: timestamp %s: %w", s.ID, s.Status, s.Timestamp, err)
	}
	st := Status{MessageID: s.ID, Status: s.Status, RecipientID: s.RecipientID, Timestamp: ts}
	for _, e := range s.Errors {
		st.Errors = append(st.Errors, StatusError{Code: e.Code, Title: e.Title, Message: e.Message, Details: e.ErrorData.Details})
	}
	return st, nil
}

// unixSeconds reads Graph's timestamp, a string of Unix seconds; a bare
// number is accepted too.
func unixSeconds(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return time.Time{}, fmt.Errorf("missing")
	}
	text := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &text); err != nil {
			return time.Time{}, err
		}
	}
	sec, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(sec, 0).UTC(), nil
}

// Rank orders statuses for out-of-order webhooks: sent 1 < delivered 2 <
// read 3; failed 4 (final); unknown 0. A stored status is replaced only by
// one of higher rank, so a late "delivered" never undoes "read".
func Rank(status string) int {
	switch status {
	case "sent":
		return 1
	case "delivered":
		return 2
	case "read":
		return 3
	case "failed":
		return 4
	}
	return 0
}
