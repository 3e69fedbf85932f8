package walletredis

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// ReclaimExpired implements wallet.Wallet. Reserve, Settle and Balance
// already reclaim the account they touch; this sweep SCANs every Leases key
// (on each master of a cluster) and runs the reclaim script per account.
func (w *Wallet) ReclaimExpired(ctx context.Context) (int, error) {
	var total atomic.Int64
	sweep := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, w.keys.leasesPattern(), 500).Iterator()
		for iter.Next(ctx) {
			acct, ok := w.keys.leasesAccount(iter.Val())
			if !ok {
				continue
			}
			n, err := sweepScript.Run(ctx, w.client, w.accountKeys(acct), "", w.now().UnixMilli()).Int64()
			if err != nil {
				return err
			}
			total.Add(n)
		}
		return iter.Err()
	}
	var err error
	if cc, ok := w.client.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return sweep(ctx, c) })
	} else {
		err = sweep(ctx, w.client)
	}
	if err != nil {
		return int(total.Load()), unavailable("reclaim expired holds", fmt.Errorf("sweep: %w", err))
	}
	return int(total.Load()), nil
}
