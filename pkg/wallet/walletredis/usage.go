package walletredis

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// UsageVersion is the format version in the "v" field of the usage events
// Settle writes. Version 1 (every field on its own) is still read: a
// stream may hold events of a replica not yet upgraded.
const UsageVersion = "2"

// usageV1 is the format of version 1 events.
const usageV1 = "1"

// packSep separates the packed fields of a version 2 event (ASCII unit
// separator).
const packSep = '\x1f'

// Usage stream field names (see the package doc).
const (
	fieldVersion          = "v"
	fieldRequestID        = "request_id"
	fieldAccountID        = "account_id"
	fieldCredits          = "credits"
	fieldShortfall        = "shortfall_credits"
	fieldCreatedAtMS      = "created_at_ms"
	fieldClientRequestID  = "client_request_id"
	fieldAPIKeyID         = "api_key_id"
	fieldModel            = "model"
	fieldBackend          = "backend"
	fieldStatus           = "status"
	fieldPromptTokens     = "prompt_tokens"
	fieldCompletionTokens = "completion_tokens"
	fieldTotalTokens      = "total_tokens"
	fieldLatencyMS        = "latency_ms"
	fieldTTFBMS           = "ttfb_ms"
	// fieldPacked holds, in version 2, what the settle script does not
	// compute, in one field (fewer to encode, store, read back and parse
	// per request): api_key_id, prompt_tokens, completion_tokens,
	// total_tokens, latency_ms, ttfb_ms, backend, status, model and
	// client_request_id, in that order, separated by packSep. The client's
	// id comes last, so it may hold any byte.
	fieldPacked = "u"
)

// packedFields is how many fields fieldPacked holds.
const packedFields = 10

// packUsage encodes fieldPacked.
func packUsage(u wallet.Usage) string {
	b := make([]byte, 0, 64+len(u.Model)+len(u.ClientRequestID))
	for _, n := range [...]int64{u.APIKeyID, int64(u.PromptTokens), int64(u.CompletionTokens), int64(u.TotalTokens),
		u.Latency.Milliseconds(), u.TTFB.Milliseconds()} {
		b = strconv.AppendInt(b, n, 10)
		b = append(b, packSep)
	}
	for _, s := range [...]string{u.Backend, u.Status, u.Model} {
		b = append(b, s...)
		b = append(b, packSep)
	}
	return string(append(b, u.ClientRequestID...))
}

// unpackUsage decodes fieldPacked.
func unpackUsage(s string) (wallet.Usage, error) {
	var f [packedFields]string
	for i := range packedFields - 1 {
		v, rest, ok := strings.Cut(s, string(packSep))
		if !ok {
			return wallet.Usage{}, fmt.Errorf("field %s: %d values, want %d", fieldPacked, i+1, packedFields)
		}
		f[i], s = v, rest
	}
	f[packedFields-1] = s
	var n [6]int64
	for i := range n {
		if f[i] == "" {
			continue
		}
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return wallet.Usage{}, fmt.Errorf("field %s, value %d: %w", fieldPacked, i+1, err)
		}
		n[i] = v
	}
	return wallet.Usage{
		APIKeyID: n[0], PromptTokens: int(n[1]), CompletionTokens: int(n[2]), TotalTokens: int(n[3]),
		Latency: time.Duration(n[4]) * time.Millisecond, TTFB: time.Duration(n[5]) * time.Millisecond,
		Backend: f[6], Status: f[7], Model: f[8], ClientRequestID: f[9],
	}, nil
}

// Usage is one usage event read back from a stream: a usage_records row to
// insert and a debit to apply to the durable balance.
type Usage struct {
	// StreamID is the entry's id, to acknowledge and delete it.
	StreamID  string
	RequestID string
	Account   resayil.AccountID
	// Credits is the debit charged; Shortfall what the balance could not pay.
	Credits   resayil.Credits
	Shortfall resayil.Credits
	CreatedAt time.Time
	wallet.Usage
}

// DecodeUsage parses a usage stream entry. It fails on an unknown format
// version or a malformed number, so the writer can park such an entry
// instead of recording it wrongly.
func DecodeUsage(m redis.XMessage) (Usage, error) {
	d := decoder{values: m.Values}
	v := d.str(fieldVersion)
	if v != UsageVersion && v != usageV1 {
		return Usage{}, fmt.Errorf("walletredis: usage event %s: format version %q, want %q or %q", m.ID, v, UsageVersion, usageV1)
	}
	u := Usage{
		StreamID:  m.ID,
		RequestID: d.str(fieldRequestID),
		Account:   resayil.AccountID(d.int(fieldAccountID)),
		Credits:   resayil.Credits(d.int(fieldCredits)),
		Shortfall: resayil.Credits(d.int(fieldShortfall)),
		CreatedAt: time.UnixMilli(d.int(fieldCreatedAtMS)).UTC(),
	}
	if v == usageV1 {
		u.Usage = wallet.Usage{
			ClientRequestID:  d.str(fieldClientRequestID),
			APIKeyID:         d.int(fieldAPIKeyID),
			Model:            d.str(fieldModel),
			Backend:          d.str(fieldBackend),
			Status:           d.str(fieldStatus),
			PromptTokens:     int(d.int(fieldPromptTokens)),
			CompletionTokens: int(d.int(fieldCompletionTokens)),
			TotalTokens:      int(d.int(fieldTotalTokens)),
			Latency:          time.Duration(d.int(fieldLatencyMS)) * time.Millisecond,
			TTFB:             time.Duration(d.int(fieldTTFBMS)) * time.Millisecond,
		}
	} else if d.err == nil {
		u.Usage, d.err = unpackUsage(d.str(fieldPacked))
	}
	if d.err != nil {
		return Usage{}, fmt.Errorf("walletredis: usage event %s: %w", m.ID, d.err)
	}
	if u.RequestID == "" || u.Account <= 0 {
		return Usage{}, fmt.Errorf("walletredis: usage event %s: no request id or account", m.ID)
	}
	return u, nil
}

// decoder reads fields, keeping the first error.
type decoder struct {
	values map[string]any
	err    error
}

func (d *decoder) str(field string) string {
	s, _ := d.values[field].(string)
	return s
}

func (d *decoder) int(field string) int64 {
	s := d.str(field)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("field %s: %w", field, err)
	}
	return n
}
