// Package redisbatch sends the Redis scripts of one request in as few round
// trips as the request's dependencies allow (Redis mode): the rate limit
// and the credit hold in one pipeline before the upstream call, the
// settlement and the local-slot release in one pipeline after it. Each
// script still touches one hash tag and runs atomically on its own; a
// pipeline only saves the round trips, so every invariant of the wallet,
// the limiter and the capacity store holds as with separate calls. On a
// *redis.ClusterClient, go-redis splits a pipeline per node: the scripts
// then travel as separate commands, still each in one slot.
//
// Across requests, a Combiner sends the pipelines of concurrent requests
// together (combine.go), so that under load a round trip serves several
// requests.
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
	// Combiner, when set, sends the pipelines of concurrent requests
	// together; nil: each request sends its own.
	Combiner *Combiner
}

func (b *Batch) do(ctx context.Context, queue func(redis.Pipeliner)) {
	if b.Combiner != nil {
		b.Combiner.Do(ctx, queue)
		return
	}
	p := b.Client.Pipeline()
	queue(p)
	_, _ = p.Exec(ctx) // each command carries its own error
}

var _ admission.Store = (*Batch)(nil)

// EarlySlots implements admission.Store: a local slot is taken in the
// admission's round trip when the capacity store is Redis's.
func (b *Batch) EarlySlots() bool { return b.Capacity != nil }

// AllowReserve implements admission.Store: one round trip on a warm
// account, the early slot entry included. The hold is taken even when the
// limiter refuses (the rare path); Admit gives it back.
func (b *Batch) AllowReserve(ctx context.Context, key string, limit ratelimit.Limit, h wallet.Hold, early *capacity.Early) admission.AllowReserved {
	var (
		rl *ratelimitredis.AllowCmd
		rs *walletredis.ReserveCmd
		ec *capacityredis.EnterCmd
	)
	b.do(ctx, func(p redis.Pipeliner) {
		rl = b.Limiter.QueueAllow(ctx, p, key, limit)
		rs = b.Wallet.QueueReserve(ctx, p, h)
		if early != nil && b.Capacity != nil {
			ec = b.Capacity.QueueEnter(ctx, p, early.Hosts(), early.Entry())
		}
	})
	var r admission.AllowReserved
	r.Decision, r.LimitErr = rl.Result(ctx)
	r.Granted, r.ReserveErr = rs.Result(ctx)
	r.Held = r.ReserveErr == nil
	if ec != nil {
		early.Set(ec.Result(ctx))
	}
	return r
}

// SettleRelease implements admission.Store: the settlement and the
// local-slot release in one round trip. A request without a local slot
// (served by the cloud, or its slot already freed) settles alone.
func (b *Batch) SettleRelease(ctx context.Context, s wallet.Settlement, slot admission.Slot) (wallet.SettleResult, error) {
	if b.Capacity == nil {
		defer slot.Release()
		return b.Wallet.Settle(ctx, s)
	}
	var (
		res     wallet.SettleResult
		err     error
		batched bool
	)
	slot.ReleaseWith(func(hosts []capacity.Host, id string) (capacity.Outcome, error) {
		batched = true
		var (
			sc *walletredis.SettleCmd
			lc *capacityredis.LeaveCmd
		)
		b.do(ctx, func(p redis.Pipeliner) {
			sc = b.Wallet.QueueSettle(ctx, p, s)
			lc = b.Capacity.QueueLeave(ctx, p, hosts, id)
		})
		res, err = sc.Result(ctx)
		return lc.Result(ctx)
	})
	if !batched {
		return b.Wallet.Settle(ctx, s)
	}
	return res, err
}
