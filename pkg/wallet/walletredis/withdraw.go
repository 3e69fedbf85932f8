package walletredis

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// withdrawScript: KEYS[4] Grants set; ARGV[3] reference, [4] amount, [5] TTL
// ms of the set. Returns {1, balance} when applied, {0, balance} when the
// reference was applied before, {2, available} when the available balance
// (counting the hold held under the reference itself) cannot pay the amount,
// or {-1, 0} (load needed).
//
// Why one script: the check "is there enough" and the decrement must be one
// step, or a gateway reservation landing between them could drive the
// balance below zero (invariant 1); and the membership test and the
// decrement must be one step, so a retried withdrawal applies once
// (invariant 2). Nothing is written unless the withdrawal applies.
var withdrawScript = redis.NewScript(prelude + `
if redis.call('SISMEMBER', KEYS[4], ARGV[3]) == 1 then
  return {0, tonumber(redis.call('HGET', KEYS[1], 'balance')) or 0}
end
local bal, held = open()
if not bal then return {-1, 0} end
local ref, amount = ARGV[3], tonumber(ARGV[4])
local own = tonumber(redis.call('HGET', KEYS[2], ref)) or 0
if bal - held + own < amount then held = held - reclaim() end
own = tonumber(redis.call('HGET', KEYS[2], ref)) or 0
if bal - held + own < amount then return {2, math.max(bal - held, 0)} end
if own ~= 0 then
  redis.call('HDEL', KEYS[2], ref)
  redis.call('ZREM', KEYS[3], ref)
  redis.call('HINCRBY', KEYS[1], 'held', -own)
end
local nb = redis.call('HINCRBY', KEYS[1], 'balance', -amount)
redis.call('SADD', KEYS[4], ref)
redis.call('PEXPIRE', KEYS[4], ARGV[5])
return {1, nb}
`)

// Withdraw takes g.Amount credits away from the live balance once per
// g.Reference: an operator's negative adjustment, whose credit_ledger row
// (a negative amount under the same reference) the caller has already
// committed, exactly as for Credit. It never takes the balance below zero:
// when the available balance cannot pay g.Amount nothing changes and the
// error is an *wallet.InsufficientCreditsError. A hold placed by Reserve
// under the request id g.Reference counts as available to this withdrawal
// and is consumed by it, so a caller can reserve first (making sure no
// request spends the credits meanwhile), commit the ledger row, then
// withdraw. A repeated reference, concurrent or not, returns applied=false
// and changes nothing. g.Amount is the positive number of credits taken.
//
// Withdraw is not part of wallet.Wallet: only portal-api's ledger takes
// credits away by reference; requests are debited by Settle.
func (w *Wallet) Withdraw(ctx context.Context, g wallet.Grant) (bool, error) {
	if err := g.Validate(); err != nil {
		return false, err
	}
	res, err := w.run(ctx, "withdraw", withdrawScript, g.Account, w.accountKeys(g.Account, w.keys.Grants(g.Account)),
		nil, nil, g.Reference, int64(g.Amount), w.grantTTL)
	if err != nil {
		return false, err
	}
	if res[0] == 2 {
		return false, wallet.Insufficient(resayil.Credits(res[1]), g.Amount)
	}
	return res[0] == 1, nil
}
