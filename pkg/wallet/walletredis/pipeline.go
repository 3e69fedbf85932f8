package walletredis

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/redisscript"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Pipelined variants. The gateway sends its Reserve in one pipeline with
// the rate-limit script, and its Settle with the local-slot release, so a
// request makes one round trip where it made two. Each script still
// touches one hash tag: on a *redis.ClusterClient the pipeline is split per
// node (separate round trips), never turned into a cross-slot script.
//
// Queue* adds the script (EVALSHA) to the caller's pipeline and returns a
// command whose Result, called after the pipeline's Exec, answers exactly
// what the plain method would have. Result may itself make round trips on
// the rare paths: EVAL when Redis lost its script cache (NOSCRIPT), and a
// Loader call plus a second run on a cold account.

// queued is one wallet script on a pipeline.
type queued struct {
	w    *Wallet
	op   string
	s    *redis.Script
	acct resayil.AccountID
	keys []string
	args []any
	q    redisscript.Queued
}

func (w *Wallet) queue(ctx context.Context, p redis.Pipeliner, op string, s *redis.Script, acct resayil.AccountID, keys []string, args ...any) queued {
	args[0], args[1] = "", w.now().UnixMilli()
	return queued{w: w, op: op, s: s, acct: acct, keys: keys, args: args, q: redisscript.Queue(ctx, p, w.client, s, keys, args...)}
}

// result reads the script's answer once the pipeline ran.
func (q *queued) result(ctx context.Context) ([]int64, error) {
	res, err := q.q.Reply(ctx).Int64Slice()
	if err != nil {
		return nil, unavailable(q.op, err)
	}
	return q.w.loadIfCold(ctx, q.op, q.s, q.acct, q.keys, q.args, res)
}

// ReserveCmd is a Reserve queued on a pipeline.
type ReserveCmd struct {
	h   wallet.Hold
	q   queued
	err error
}

// QueueReserve queues Reserve(h) on p; call Result after p's Exec.
func (w *Wallet) QueueReserve(ctx context.Context, p redis.Pipeliner, h wallet.Hold) *ReserveCmd {
	if err := h.Validate(); err != nil {
		return &ReserveCmd{err: err}
	}
	keys, args := w.reserveCall(h)
	return &ReserveCmd{h: h, q: w.queue(ctx, p, "reserve", reserveScript, h.Account, keys, args...)}
}

// Result is Reserve's answer.
func (c *ReserveCmd) Result(ctx context.Context) (resayil.Credits, error) {
	if c.err != nil {
		return 0, c.err
	}
	res, err := c.q.result(ctx)
	if err != nil {
		return 0, err
	}
	if res[0] == 0 {
		return 0, wallet.Insufficient(resayil.Credits(res[1]), c.h.Min())
	}
	return resayil.Credits(res[1]), nil
}

// SettleCmd is a Settle queued on a pipeline.
type SettleCmd struct {
	q   queued
	err error
}

// QueueSettle queues Settle(s) on p; call Result after p's Exec.
func (w *Wallet) QueueSettle(ctx context.Context, p redis.Pipeliner, s wallet.Settlement) *SettleCmd {
	if err := s.Validate(); err != nil {
		return &SettleCmd{err: err}
	}
	keys, args := w.settleCall(s)
	return &SettleCmd{q: w.queue(ctx, p, "settle", settleScript, s.Account, keys, args...)}
}

// Result is Settle's answer.
func (c *SettleCmd) Result(ctx context.Context) (wallet.SettleResult, error) {
	if c.err != nil {
		return wallet.SettleResult{}, c.err
	}
	res, err := c.q.result(ctx)
	if err != nil {
		return wallet.SettleResult{}, err
	}
	return settleResult(res), nil
}
