package wallet

import (
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// MaxRequestIDLen is the longest request id the stores accept
// (usage_records.request_id and wallet_holds.request_id are VARCHAR(64)).
const MaxRequestIDLen = 64

// validRequestID says id is printable ASCII without spaces (0x21 to 0x7e),
// as the gateway's billing ids (hex) are: stores key and separate records
// by it.
func validRequestID(id string) bool {
	for i := 0; i < len(id); i++ {
		if id[i] <= 0x20 || id[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Hold asks for credits to be reserved for one request.
type Hold struct {
	// RequestID is the billing id the gateway generated; the hold, the
	// debit and the usage record are all keyed by it. Never a client's
	// X-Request-Id (docs/architecture.md "A request's path through the
	// gateway", step 6).
	RequestID string
	Account   resayil.AccountID
	// Amount is the upper bound of the request's cost (docs/architecture.md
	// "Credits and holds").
	Amount resayil.Credits
	// MinAmount is the least the request can run with: the minimum charge
	// (1 credit × the multiplier). Below it Reserve fails with
	// EINSUFFICIENTCREDITS. Values under 1 mean 1.
	MinAmount resayil.Credits
	// Lease is how long the hold lives without a Renew; zero means
	// DefaultLease.
	Lease time.Duration
	// AlertOnRefusal marks the hold of an API request: when Reserve
	// refuses it for lack of credits (the gateway's 402), the wallet
	// raises the account's AlertExhausted, once per credit period. Other
	// holds (an operator's debit reserving live credits) leave it false:
	// their refusal is not the user's.
	AlertOnRefusal bool
}

// Validate reports a hold no store should accept, wrapping ErrInvalid.
func (h Hold) Validate() error {
	switch {
	case h.RequestID == "" || len(h.RequestID) > MaxRequestIDLen:
		return fmt.Errorf("%w: hold request id must be 1 to %d bytes", ErrInvalid, MaxRequestIDLen)
	case !validRequestID(h.RequestID):
		return fmt.Errorf("%w: hold request id must be printable ASCII without spaces", ErrInvalid)
	case h.Account <= 0:
		return fmt.Errorf("%w: hold account %d", ErrInvalid, h.Account)
	case h.Amount <= 0:
		return fmt.Errorf("%w: hold amount %d must be positive", ErrInvalid, h.Amount)
	case h.MinAmount > h.Amount:
		return fmt.Errorf("%w: hold minimum %d exceeds amount %d", ErrInvalid, h.MinAmount, h.Amount)
	case h.Lease < 0:
		return fmt.Errorf("%w: negative lease %s", ErrInvalid, h.Lease)
	}
	return nil
}

// Min returns MinAmount, at least 1.
func (h Hold) Min() resayil.Credits {
	if h.MinAmount < 1 {
		return 1
	}
	return h.MinAmount
}

// LeaseOrDefault returns Lease, or DefaultLease when it is zero.
func (h Hold) LeaseOrDefault() time.Duration { return LeaseOrDefault(h.Lease) }

// LeaseOrDefault returns lease, or DefaultLease when it is not positive.
func LeaseOrDefault(lease time.Duration) time.Duration {
	if lease <= 0 {
		return DefaultLease
	}
	return lease
}

// Grant decides how much of the available balance this hold takes:
// min(Amount, available) when that reaches Min, else an
// *InsufficientCreditsError. Every implementation decides with it (the Redis
// script mirrors it line for line) so the modes cannot drift apart.
func (h Hold) Grant(available resayil.Credits) (resayil.Credits, error) {
	if available < h.Min() {
		return 0, Insufficient(max(available, 0), h.Min())
	}
	return min(h.Amount, available), nil
}
