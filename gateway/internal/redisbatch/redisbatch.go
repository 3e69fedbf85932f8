// Package redisbatch sends the Redis scripts of one request in as few round
// trips as the request's dependencies allow (Redis mode): the rate limit
// and the credit hold in one pipeline before the upstream call, the
// settlement and the local-slot release in one pipeline after it. Each
// script still touches one hash tag and runs atomically on its own; a
// pipeline only saves the round trips, so every invariant of the wallet,
// the limiter and the capacity store holds as with separate calls. On a
// *redis.ClusterClient, go-redis splits a pipeline per node: the scripts
// then travel as separate commands, still each in one slot.
package redisbatch

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/admission"
	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/capacity/capacityredis"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitredis"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// Batch pipelines the Redis implementations' scripts. Capacity may be nil
// (then Leave is never batched).
type Batch struct {
	Client   redis.UniversalClient
	Limiter  *ratelimitredis.Limiter
	Wallet   *walletredis.Wallet
	Capacity *capacityredis.Store
}

var _ admission.Batcher = (*Batch)(nil)

// AllowReserve implements admission.Batcher: one round trip on a warm
// account, the early slot entry included.
func (b *Batch) AllowReserve(ctx context.Context, key string, limit ratelimit.Limit, h wallet.Hold, early *capacity.Early) admission.AllowReserved {
	p := b.Client.Pipeline()
	rl := b.Limiter.QueueAllow(ctx, p, key, limit)
	rs := b.Wallet.QueueReserve(ctx, p, h)
	var ec *capacityredis.EnterCmd
	if early != nil && b.Capacity != nil {
		ec = b.Capacity.QueueEnter(ctx, p, early.Hosts(), early.Entry())
	}
	_, _ = p.Exec(ctx) // each command carries its own error
	var r admission.AllowReserved
	r.Decision, r.LimitErr = rl.Result(ctx)
	r.Granted, r.ReserveErr = rs.Result(ctx)
	if ec != nil {
		early.Set(ec.Result(ctx))
	}
	return r
}

// Settled is what SettleLeave answers.
type Settled struct {
	Result wallet.SettleResult
	Err    error
}

// SettleLeave settles s and leaves the capacity store as id (with hosts,
// the pool's view) in one round trip, and returns the Leave outcome for
// the pool; the settlement's result goes to into.
func (b *Batch) SettleLeave(ctx context.Context, s wallet.Settlement, hosts []capacity.Host, id string, into *Settled) (capacity.Outcome, error) {
	p := b.Client.Pipeline()
	sc := b.Wallet.QueueSettle(ctx, p, s)
	lc := b.Capacity.QueueLeave(ctx, p, hosts, id)
	_, _ = p.Exec(ctx)
	into.Result, into.Err = sc.Result(ctx)
	return lc.Result(ctx)
}
