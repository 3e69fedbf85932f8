package admission

import (
	"context"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Store is admission's port: what a request takes before its upstream call
// (the rate limit, the credit hold, and optionally a local slot) and gives
// back after it (the settlement, and the local slot). Each mode has one
// implementation: Embedded (the limiter and the wallet one after the other)
// and redisbatch.Batch in Redis mode, which sends each half in one
// pipelined round trip, shared by concurrent requests (ADR 7: separate
// calls one after another cost a round trip each).
type Store interface {
	// EarlySlots reports whether AllowReserve takes a request's early
	// local-slot entry in its round trip; when false, none is prepared.
	EarlySlots() bool
	// AllowReserve runs the rate limit and the hold, and the early entry
	// when there is one (then Set on it). The hold may be taken even when
	// the limiter refuses: Held says so, and Admit gives it back.
	AllowReserve(ctx context.Context, key string, limit ratelimit.Limit, h wallet.Hold, early *capacity.Early) AllowReserved
	// SettleRelease settles s and frees the local slot the request holds
	// (slot.ReleaseWith), in one round trip where the store can.
	SettleRelease(ctx context.Context, s wallet.Settlement, slot Slot) (wallet.SettleResult, error)
}

// Slot is the local slot a routed request may hold (routing.Lease).
type Slot interface {
	// ReleaseWith frees the slot through leave, which it calls only while
	// it still holds a local slot.
	ReleaseWith(leave func(hosts []capacity.Host, id string) (capacity.Outcome, error))
	// Release frees the slot (idempotent).
	Release()
}

// AllowReserved is what Store.AllowReserve answers: what Limiter.Allow and
// Wallet.Reserve would have, each with its own error.
type AllowReserved struct {
	Decision   ratelimit.Decision
	LimitErr   error
	Granted    resayil.Credits
	ReserveErr error
	// Held is true when a hold was taken (it must be settled or released).
	Held bool
}

// Embedded is the Store of the embedded mode: the in-process limiter, then
// the database wallet, one after the other. A refused request takes no
// hold and no early slot.
type Embedded struct {
	Limiter ratelimit.Limiter
	Wallet  wallet.Wallet
}

var _ Store = Embedded{}

// EarlySlots is false: in-process slots cost no round trip to save.
func (Embedded) EarlySlots() bool { return false }

// AllowReserve implements Store.
func (e Embedded) AllowReserve(ctx context.Context, key string, limit ratelimit.Limit, h wallet.Hold, _ *capacity.Early) AllowReserved {
	var r AllowReserved
	r.Decision, r.LimitErr = e.Limiter.Allow(ctx, key, limit)
	if r.LimitErr != nil || !r.Decision.Allowed {
		return r
	}
	r.Granted, r.ReserveErr = e.Wallet.Reserve(ctx, h)
	r.Held = r.ReserveErr == nil
	return r
}

// SettleRelease implements Store: the settlement, then the slot.
func (e Embedded) SettleRelease(ctx context.Context, s wallet.Settlement, slot Slot) (wallet.SettleResult, error) {
	defer slot.Release()
	return e.Wallet.Settle(ctx, s)
}
