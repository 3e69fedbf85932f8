// Package ledgerredis reads what the ledger needs from Redis in Redis mode:
// the usage events still in the wallet's usage streams, settled by a gateway
// but not yet written to the database by the usage writer.
package ledgerredis

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// page is how many stream entries one XRANGE reads.
const page = 1000

// Usage lists the usage events in every shard's stream
// (walletredis.Keys.Streams). It implements ledger.UsageSource.
type Usage struct {
	client redis.Cmdable
	keys   walletredis.Keys
}

var _ ledger.UsageSource = (*Usage)(nil)

// NewUsage reads the streams named by keys, which must be the wallet's
// (the same prefix and shard count as the gateways').
func NewUsage(client redis.Cmdable, keys walletredis.Keys) *Usage {
	return &Usage{client: client, keys: keys}
}

// PendingUsage implements ledger.UsageSource. It pages through each stream
// with XRANGE and fails on an entry walletredis cannot decode, since its
// debit cannot be accounted for. Alert events (a refused request's balance
// alert) carry no debit and are passed over.
func (u *Usage) PendingUsage(ctx context.Context) ([]ledger.PendingUsage, error) {
	var out []ledger.PendingUsage
	for _, stream := range u.keys.Streams() {
		start := "-"
		for {
			msgs, err := u.client.XRangeN(ctx, stream, start, "+", page).Result()
			if err != nil {
				return nil, fmt.Errorf("ledgerredis: read %s: %w", stream, err)
			}
			for _, m := range msgs {
				ev, err := walletredis.DecodeEvent(m)
				if err != nil {
					return nil, fmt.Errorf("ledgerredis: %w", err)
				}
				if u := ev.Usage; u != nil {
					out = append(out, ledger.PendingUsage{RequestID: u.RequestID, Account: u.Account, Credits: u.Credits})
				}
			}
			if len(msgs) < page {
				break
			}
			start = "(" + msgs[len(msgs)-1].ID
		}
	}
	return out, nil
}
