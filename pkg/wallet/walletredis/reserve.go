package walletredis

import (
	"context"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Reserve implements wallet.Wallet with reserveScript: one round trip on a
// warm account.
func (w *Wallet) Reserve(ctx context.Context, h wallet.Hold) (resayil.Credits, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	lease := h.LeaseOrDefault()
	res, err := w.run(ctx, "reserve", reserveScript, h.Account, w.accountKeys(h.Account),
		nil, nil, h.RequestID, int64(h.Amount), int64(h.Min()), lease.Milliseconds(), holdTTL(lease))
	if err != nil {
		return 0, err
	}
	if res[0] == 0 {
		return 0, wallet.Insufficient(resayil.Credits(res[1]), h.Min())
	}
	return resayil.Credits(res[1]), nil
}

// Renew implements wallet.Wallet.
func (w *Wallet) Renew(ctx context.Context, acct resayil.AccountID, requestID string, lease time.Duration) error {
	lease = wallet.LeaseOrDefault(lease)
	res, err := w.run(ctx, "renew", renewScript, acct, w.accountKeys(acct),
		nil, nil, requestID, lease.Milliseconds(), holdTTL(lease))
	if err != nil {
		return err
	}
	if res[0] == 0 {
		return wallet.ErrHoldNotFound
	}
	return nil
}

// Release implements wallet.Wallet.
func (w *Wallet) Release(ctx context.Context, acct resayil.AccountID, requestID string) (resayil.Credits, error) {
	res, err := w.run(ctx, "release", releaseScript, acct, w.accountKeys(acct), nil, nil, requestID)
	if err != nil {
		return 0, err
	}
	return resayil.Credits(res[0]), nil
}
