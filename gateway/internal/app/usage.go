package app

import (
	"context"

	"github.com/resayil/portal/gateway/internal/usage"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// usageWriter registers the Redis-mode background writer that moves usage
// events from the wallet's streams into usage_records and durable debits.
// It is closed after the HTTP server drained, so the last settlements are
// written before the process exits (invariant 7).
func (a *App) usageWriter(w *walletredis.Wallet) error {
	uw, err := usage.New(a.Redis, a.DB, usage.Config{
		Prefix: a.cfg.RedisPrefix, Shards: w.Keys().Shards(), FlushInterval: a.cfg.UsageFlushInterval, Logger: a.log,
		FlushOnClose: true, TopUpURL: wallet.TopUpURL(a.cfg.PublicURL),
	})
	if err != nil {
		return err
	}
	a.Usage = uw
	a.workers = append(a.workers, worker{name: "usage-writer", close: func(ctx context.Context) error { return uw.Close(ctx) }})
	return nil
}
