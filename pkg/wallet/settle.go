package wallet

import (
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// Usage is what the usage record of a settled request says besides the
// money: the columns of usage_records (embedded mode) and the fields of the
// usage event (Redis mode).
type Usage struct {
	// ClientRequestID is the client's X-Request-Id, kept for support; it
	// never deduplicates anything.
	ClientRequestID string
	// APIKeyID is the key that made the request; 0 for none.
	APIKeyID         int64
	Model            string
	Backend          string
	PromptTokens     int
	CompletionTokens int
	TotalTokens      int
	// Status says how the request ended ("ok", "client_closed",
	// "upstream_error", ...); at most 32 bytes.
	Status  string
	Latency time.Duration
	// TTFB is the time to the first byte sent to the client.
	TTFB time.Duration
	// Held is the hold granted at admission (usage_records.held_credits,
	// shown beside the charge); 0 means unknown.
	Held resayil.Credits
}

// Settlement is the real cost of a finished request.
type Settlement struct {
	RequestID string
	Account   resayil.AccountID
	// Cost is what the request should pay (docs/architecture.md "Credits
	// and holds"); the debit is at most the hold plus the free balance.
	Cost resayil.Credits
	Usage
}

// Validate reports a settlement no store should accept, wrapping ErrInvalid.
func (s Settlement) Validate() error {
	switch {
	case s.RequestID == "" || len(s.RequestID) > MaxRequestIDLen:
		return fmt.Errorf("%w: settlement request id must be 1 to %d bytes", ErrInvalid, MaxRequestIDLen)
	case s.Account <= 0:
		return fmt.Errorf("%w: settlement account %d", ErrInvalid, s.Account)
	case s.Cost < 0:
		return fmt.Errorf("%w: negative cost %d", ErrInvalid, s.Cost)
	case s.Held < 0:
		return fmt.Errorf("%w: negative hold %d", ErrInvalid, s.Held)
	case len(s.Status) > 32 || len(s.Backend) > 16 || len(s.Model) > 128 || len(s.ClientRequestID) > 128:
		return fmt.Errorf("%w: usage field too long", ErrInvalid)
	case !validRequestID(s.RequestID):
		return fmt.Errorf("%w: settlement request id must be printable ASCII without spaces", ErrInvalid)
	case hasControl(s.Model) || hasControl(s.Backend) || hasControl(s.Status):
		return fmt.Errorf("%w: model, backend and status must not hold control characters", ErrInvalid)
	}
	return nil
}

// hasControl reports an ASCII control character in s. Stores may separate
// values with one (the Redis usage event does), so only the client's
// request id, stored last, may hold them.
func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// SettleResult is what a settlement did.
type SettleResult struct {
	// Charged is the debit: min(cost, hold + free balance).
	Charged resayil.Credits
	// Shortfall is cost - Charged: what the balance could not pay. It is
	// recorded on the usage record; the gateway counts it in a metric.
	Shortfall resayil.Credits
	// Balance is the account's balance after the debit (holds of other
	// requests not subtracted): what x-resayil-credits-remaining shows.
	Balance resayil.Credits
	// Replayed is true when the request id was already settled: nothing
	// changed and Charged and Shortfall are the first settlement's.
	Replayed bool
}

// Charge splits a cost into what chargeable (the hold plus the free balance)
// pays and the shortfall. Every implementation uses it or mirrors it.
func Charge(cost, chargeable resayil.Credits) (charged, shortfall resayil.Credits) {
	charged = max(min(cost, chargeable), 0)
	return charged, cost - charged
}
