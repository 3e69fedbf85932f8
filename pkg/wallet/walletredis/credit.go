package walletredis

import (
	"context"

	"github.com/resayil/portal/pkg/wallet"
)

// Credit implements wallet.Wallet for the live balance only: the caller has
// already committed the grant's credit_ledger row, and marks it
// live-applied once Credit returns without error (applied or not). Only
// g.Reference, g.Account and g.Amount are used here.
func (w *Wallet) Credit(ctx context.Context, g wallet.Grant) (bool, error) {
	if err := g.Validate(); err != nil {
		return false, err
	}
	res, err := w.run(ctx, "credit", creditScript, g.Account, w.accountKeys(g.Account, w.keys.Grants(g.Account)),
		nil, nil, g.Reference, int64(g.Amount), w.grantTTL)
	if err != nil {
		return false, err
	}
	return res[0] == 1, nil
}
