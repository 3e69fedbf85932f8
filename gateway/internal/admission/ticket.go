package admission

import (
	"context"
	"sync"
	"time"

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

	wallet wallet.Wallet
	lease  time.Duration
	stop   chan struct{}
	once   sync.Once
	result wallet.SettleResult
	err    error
}

// startRenewal keeps the hold's lease alive while the request runs, so a
// slow model load cannot lose its hold, while a dead gateway's holds expire.
func (t *Ticket) startRenewal() {
	t.stop = make(chan struct{})
	go func() {
		tick := time.NewTicker(t.lease / 3)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				_ = t.wallet.Renew(ctx, t.Account, t.RequestID, t.lease)
				cancel()
			}
		}
	}()
}

// Settle debits the real cost and records usage, once.
func (t *Ticket) Settle(ctx context.Context, cost resayil.Credits, u wallet.Usage) (wallet.SettleResult, error) {
	return t.SettleWith(ctx, cost, u, t.wallet.Settle)
}

// SettleWith is Settle through settle, which must do what Wallet.Settle
// does (the gateway sends the settlement in one round trip with the slot
// release); still once per ticket.
func (t *Ticket) SettleWith(ctx context.Context, cost resayil.Credits, u wallet.Usage,
	settle func(context.Context, wallet.Settlement) (wallet.SettleResult, error)) (wallet.SettleResult, error) {
	t.once.Do(func() {
		close(t.stop)
		t.result, t.err = settle(ctx, wallet.Settlement{RequestID: t.RequestID, Account: t.Account, Cost: cost, Usage: u})
	})
	return t.result, t.err
}

// Release drops the hold without a debit, once: for requests that never
// reached an upstream.
func (t *Ticket) Release(ctx context.Context) {
	t.once.Do(func() {
		close(t.stop)
		_, t.err = t.wallet.Release(ctx, t.Account, t.RequestID)
	})
}
