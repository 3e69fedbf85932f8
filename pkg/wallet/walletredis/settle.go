package walletredis

import (
	"context"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Settle implements wallet.Wallet with settleScript: the settled marker, the
// debit and the usage event in one step, one round trip on a warm account.
func (w *Wallet) Settle(ctx context.Context, s wallet.Settlement) (wallet.SettleResult, error) {
	if err := s.Validate(); err != nil {
		return wallet.SettleResult{}, err
	}
	keys, args := w.settleCall(s)
	res, err := w.run(ctx, "settle", settleScript, s.Account, keys, args...)
	if err != nil {
		return wallet.SettleResult{}, err
	}
	return settleResult(res), nil
}

// settleCall returns settleScript's keys and arguments (the first two
// filled in by run or queue).
func (w *Wallet) settleCall(s wallet.Settlement) ([]string, []any) {
	keys := w.accountKeys(s.Account, w.keys.Settled(s.Account, s.RequestID), w.keys.UsageStream(s.Account))
	return keys, []any{nil, nil, s.RequestID, int64(s.Cost), w.settledTTL, int64(s.Account), packUsage(s.Usage)}
}

func settleResult(res []int64) wallet.SettleResult {
	return wallet.SettleResult{
		Charged:   resayil.Credits(res[1]),
		Shortfall: resayil.Credits(res[2]),
		Balance:   resayil.Credits(res[3]),
		Replayed:  res[0] == 2,
	}
}
