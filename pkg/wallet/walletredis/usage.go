package walletredis

import (
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// UsageVersion is the format version in the "v" field of usage events.
const UsageVersion = "1"

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
)

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
	if v := d.str(fieldVersion); v != UsageVersion {
		return Usage{}, fmt.Errorf("walletredis: usage event %s: format version %q, want %q", m.ID, v, UsageVersion)
	}
	u := Usage{
		StreamID:  m.ID,
		RequestID: d.str(fieldRequestID),
		Account:   resayil.AccountID(d.int(fieldAccountID)),
		Credits:   resayil.Credits(d.int(fieldCredits)),
		Shortfall: resayil.Credits(d.int(fieldShortfall)),
		CreatedAt: time.UnixMilli(d.int(fieldCreatedAtMS)).UTC(),
		Usage: wallet.Usage{
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
		},
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
