package walletredis

import (
	"context"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Balance implements wallet.Wallet. It reclaims the account's expired holds
// on the way, so what it reports is what Reserve would see.
func (w *Wallet) Balance(ctx context.Context, acct resayil.AccountID) (wallet.Balance, error) {
	res, err := w.run(ctx, "balance", balanceScript, acct, w.accountKeys(acct), nil, nil)
	if err != nil {
		return wallet.Balance{}, err
	}
	total, held := resayil.Credits(res[1]), resayil.Credits(res[2])
	return wallet.Balance{Total: total, Held: held, Available: total - held, Period: resayil.Credits(res[3]), PeriodSeq: res[4]}, nil
}
