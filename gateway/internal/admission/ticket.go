package admission

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Ticket is an admitted request's credit hold. Settle or Release runs once;
// later calls return the first outcome, so the success, error and
// disconnect paths cannot bill twice.
type Ticket struct {
	RequestID      string
	Account        resayil.AccountID
	Model          *catalog.Model
	MaxTokens      int64
	Held           resayil.Credits
	PromptEstimate int64
	// Early is the request's early local-slot entry, nil when it has
	// none; the router takes it or cancels it.
	Early *capacity.Early

	store  Store
	wallet wallet.Wallet
	log    *slog.Logger
	lease  time.Duration
	// mu guards timer and stopped: the renewal timer re-arms itself unless
	// the ticket was settled or released meanwhile.
	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	once    sync.Once
	result  wallet.SettleResult
	err     error
}

// startRenewal keeps the hold's lease alive while the request runs, so a
// slow model load cannot lose its hold, while a dead gateway's holds
// expire. A timer rather than a goroutine per request: nearly every
// request ends long before its first renewal, and an unfired timer costs
// no goroutine, no channel and no wake-up.
func (t *Ticket) startRenewal() {
	every := t.lease / 3
	t.mu.Lock()
	t.timer = time.AfterFunc(every, func() { t.renew(every) })
	t.mu.Unlock()
}

func (t *Ticket) renew(every time.Duration) {
	t.mu.Lock()
	stopped := t.stopped
	t.mu.Unlock()
	if stopped {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := t.wallet.Renew(ctx, t.Account, t.RequestID, t.lease); err != nil {
		// The next renewal tries again; if every one fails, the hold ends
		// with its lease and the settlement debits what the balance holds.
		t.log.Warn("renewing a credit hold failed", "request_id", t.RequestID, "account", t.Account, "err", err)
	}
	cancel()
	t.mu.Lock()
	if !t.stopped {
		t.timer.Reset(every)
	}
	t.mu.Unlock()
}

// stopRenewal ends the renewals (a renewal already running finishes).
func (t *Ticket) stopRenewal() {
	t.mu.Lock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
	t.mu.Unlock()
}

// Settle debits the real cost, records usage and frees the request's local
// slot (in one round trip where the store can), once: later calls, and a
// Release after it, return the first outcome.
func (t *Ticket) Settle(ctx context.Context, cost resayil.Credits, u wallet.Usage, slot Slot) (wallet.SettleResult, error) {
	t.once.Do(func() {
		t.stopRenewal()
		t.result, t.err = t.store.SettleRelease(ctx, wallet.Settlement{RequestID: t.RequestID, Account: t.Account, Cost: cost, Usage: u}, slot)
	})
	return t.result, t.err
}

// Release drops the hold without a debit, once: for requests that never
// reached an upstream. A failure is logged here (the hold's lease frees it
// later) and returned.
func (t *Ticket) Release(ctx context.Context) error {
	t.once.Do(func() {
		t.stopRenewal()
		if _, t.err = t.wallet.Release(ctx, t.Account, t.RequestID); t.err != nil {
			t.log.Warn("releasing a credit hold failed; its lease will free it", "request_id", t.RequestID, "account", t.Account, "err", t.err)
		}
	})
	return t.err
}
