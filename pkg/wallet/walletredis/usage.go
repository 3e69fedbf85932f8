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

// UsageVersion is the format version of the usage events Settle writes:
// one field, fieldEvent, whose value starts with the version. Versions 1
// and 2 (a "v" field and a field per value, or some values packed in
// fieldPacked) are still read: a stream may hold events of a replica not
// yet upgraded.
const UsageVersion = "3"

// Older format versions, in the "v" field.
const (
	usageV1 = "1"
	usageV2 = "2"
)

// packSep separates packed values (ASCII unit separator). The values
// before the last never hold it (wallet.Settlement.Validate).
const packSep = '\x1f'

// fieldEvent is the one field of a version 3 event: UsageVersion,
// request_id, account_id, credits, shortfall_credits, created_at_ms, then
// what fieldPacked holds in version 2, separated by packSep. One field
// instead of seven: Redis then stores, sends and the writer parses one
// string per event, which is cheaper on all three (measured per request
// in a benchmark run).
const fieldEvent = "e"

// eventHead is how many values of a version 3 event come before the
// packed rest.
const eventHead = 6

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
	var (
		u   Usage
		err error
	)
	if e, ok := m.Values[fieldEvent].(string); ok {
		u, err = decodeEvent(e)
	} else {
		u, err = decodeFields(m.Values)
	}
	if err != nil {
		return Usage{}, fmt.Errorf("walletredis: usage event %s: %w", m.ID, err)
	}
	if u.RequestID == "" || u.Account <= 0 {
		return Usage{}, fmt.Errorf("walletredis: usage event %s: no request id or account", m.ID)
	}
	u.StreamID = m.ID
	return u, nil
}

// decodeEvent parses a version 3 event's one field.
func decodeEvent(e string) (Usage, error) {
	var head [eventHead]string
	for i := range head {
		v, rest, ok := strings.Cut(e, string(packSep))
		if !ok {
			return Usage{}, fmt.Errorf("field %s: %d values before the packed ones, want %d", fieldEvent, i+1, eventHead)
		}
		head[i], e = v, rest
	}
	if head[0] != UsageVersion {
		return Usage{}, fmt.Errorf("format version %q, want %q", head[0], UsageVersion)
	}
	var n [4]int64 // account, credits, shortfall, created at
	for i, name := range [...]string{fieldAccountID, fieldCredits, fieldShortfall, fieldCreatedAtMS} {
		v, err := strconv.ParseInt(head[2+i], 10, 64)
		if err != nil {
			return Usage{}, fmt.Errorf("field %s, %s: %w", fieldEvent, name, err)
		}
		n[i] = v
	}
	rest, err := unpackUsage(e)
	return Usage{RequestID: head[1], Account: resayil.AccountID(n[0]), Credits: resayil.Credits(n[1]),
		Shortfall: resayil.Credits(n[2]), CreatedAt: time.UnixMilli(n[3]).UTC(), Usage: rest}, err
}

// decodeFields parses a version 1 or 2 event: a field per value, or the
// packed rest in fieldPacked.
func decodeFields(values map[string]any) (Usage, error) {
	d := decoder{values: values}
	v := d.str(fieldVersion)
	if v != usageV2 && v != usageV1 {
		return Usage{}, fmt.Errorf("format version %q, want %q (field %s), %q or %q", v, UsageVersion, fieldEvent, usageV2, usageV1)
	}
	u := Usage{
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
	return u, d.err
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
