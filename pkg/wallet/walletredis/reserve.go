package walletredis

import (
	"context"
	"strconv"
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
	keys, args := w.reserveCall(h)
	res, err := w.run(ctx, "reserve", reserveScript, h.Account, keys, args...)
	if err != nil {
		return 0, err
	}
	if res[0] == 0 {
		return 0, wallet.Insufficient(resayil.Credits(res[1]), h.Min())
	}
	return resayil.Credits(res[1]), nil
}

// reserveCall returns reserveScript's keys and arguments (the first two
// filled in by run or queue). The usage stream is named even when a
// refusal raises no alert: a key name costs the call nothing.
func (w *Wallet) reserveCall(h wallet.Hold) ([]string, []any) {
	lease := h.LeaseOrDefault()
	alertAccount := ""
	if h.AlertOnRefusal {
		alertAccount = strconv.FormatInt(int64(h.Account), 10)
	}
	return w.accountKeys(h.Account, w.keys.UsageStream(h.Account)),
		[]any{nil, nil, h.RequestID, int64(h.Amount), int64(h.Min()), lease.Milliseconds(), holdTTL(lease), alertAccount}
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
