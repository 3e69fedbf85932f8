// Package walletredis is the wallet.Wallet of the production mode: live
// balances and holds in Redis, shared by every gateway replica, each
// operation one Lua script (lua.go says why), with the database as the
// durable record (docs/architecture.md "Two ways to run").
//
// # Keys
//
// With P the configured prefix, A the account id, R a request id and
// S = A mod Shards (default 16), every key of one account carries the hash
// tag {wS}, so each script touches one Redis Cluster slot:
//
//	P resayil:wallet:account:{wS}:A   hash {balance, held, period, seq, xseq}; no TTL (a balance)
//	P resayil:wallet:holds:{wS}:A     hash R → credits held; TTL lease + 1 h, renewed below lease + 50 min
//	P resayil:wallet:leases:{wS}:A    zset R → lease expiry, Unix ms; the same TTL
//	P resayil:wallet:grants:{wS}:A    set of applied grant references; TTL GrantTTL (30 d)
//	P resayil:wallet:settled:{wS}:R   string "charged:shortfall"; TTL SettledTTL (1 h)
//	P resayil:wallet:usage:{wS}       stream of usage events; no TTL, see below
//
// Keys builds these names. Shards must be the same for every process of a
// deployment; changing it needs the usage streams drained first.
//
// # Usage stream
//
// Settle appends one event per settled request to its shard's stream in the
// same script as the debit, so a debit without its usage event (or the
// reverse) cannot happen. A background writer reads the streams through a
// consumer group, inserts usage_records rows and applies the debits to the
// database idempotently (unique request_id), then acknowledges the entries
// and trims what its group is done with; the streams are never trimmed by
// length, which could drop events the writer has not read. An entry has
// one field, either (DecodeEvent parses both):
//
//	e  a usage event, format version 5 (UsageVersion; DecodeEvent still
//	   reads 4, without the alert, and 3, without held_credits): "5",
//	   request_id (billing id, unique), account_id, credits (debit
//	   charged), shortfall_credits (cost the balance could not pay),
//	   created_at_ms (settlement time, Unix milliseconds), alert (the
//	   balance alert the debit raised, or empty), api_key_id ("0" for
//	   none), prompt_tokens, completion_tokens, total_tokens, latency_ms,
//	   ttfb_ms, held_credits, backend, status, model, client_request_id
//	   (the client's X-Request-Id, may be empty, may hold any byte)
//	a  an alert event (AlertVersion "1"), appended by Reserve when it
//	   refuses a request's hold for lack of credits: "1", account_id, alert
//
// separated by the ASCII unit separator (0x1f). An alert is
// "<low|exhausted>:<period_seq>:<balance left>" (wallet.DebitAlert says
// when); the writer records it as an outbox row, once per period by its
// dedupe key. The account hash keeps the period's number (seq, counted by
// every grant) and the last period whose exhausted alert went out (xseq),
// so that refusals by the hundred put one alert event on the stream.
//
// # Loading
//
// A balance Redis does not have (first use, or Redis lost its data) is read
// through a Loader from the database and written only if still absent;
// Loader says what it must count so that no grant is applied twice.
//
// A Redis or Loader failure is returned as resayil.EUNAVAILABLE, so the
// gateway answers 503 rather than admitting a request it cannot bill.
package walletredis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Defaults of Config.
const (
	// DefaultSettledTTL is how long a settled request id is remembered: far
	// longer than any retry of a Settle, short enough that one small key per
	// request does not pile up.
	DefaultSettledTTL = time.Hour
	// DefaultGrantTTL is how long applied grant references are remembered,
	// refreshed by each grant: the reconciler retries a grant for minutes,
	// not for weeks.
	DefaultGrantTTL = 30 * 24 * time.Hour
	// holdGrace keeps the holds keys alive this much longer than their
	// longest lease (at least this less the 10 minutes of slack of the
	// scripts' extend), so that an expired hold is reclaimed by a script
	// (which frees its credits) rather than vanishing with its key.
	holdGrace = time.Hour
)

// Config tunes a Wallet; the zero value is ready for production.
type Config struct {
	// Prefix is prepended to every key: a deployment namespace sharing one
	// Redis, or testenv's per-test prefix. No braces.
	Prefix string
	// Shards is the number of hash tags and usage streams; 0 means
	// DefaultShards.
	Shards     int
	SettledTTL time.Duration
	GrantTTL   time.Duration
	// Now is the time source of leases and usage timestamps; nil means
	// time.Now. Tests pass a manual clock instead of sleeping.
	Now func() time.Time
}

// Wallet is the Redis wallet, safe for concurrent use across goroutines and
// gateway replicas.
type Wallet struct {
	client     redis.Cmdable
	loader     Loader
	keys       Keys
	now        func() time.Time
	settledTTL int64
	grantTTL   int64
}

var _ wallet.Wallet = (*Wallet)(nil)

// New returns a Wallet storing live state in client (a *redis.Client or
// *redis.ClusterClient) and loading cold balances through loader.
func New(client redis.Cmdable, loader Loader, cfg Config) (*Wallet, error) {
	keys, err := NewKeys(cfg.Prefix, cfg.Shards)
	if err != nil {
		return nil, err
	}
	if loader == nil {
		return nil, errors.New("walletredis: a Loader is required")
	}
	w := &Wallet{client: client, loader: loader, keys: keys, now: cfg.Now,
		settledTTL: orDefault(cfg.SettledTTL, DefaultSettledTTL).Milliseconds(),
		grantTTL:   orDefault(cfg.GrantTTL, DefaultGrantTTL).Milliseconds(),
	}
	if w.now == nil {
		w.now = time.Now
	}
	return w, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Keys returns the key names this wallet uses.
func (w *Wallet) Keys() Keys { return w.keys }

// accountKeys returns the three keys every script starts with, plus extra.
func (w *Wallet) accountKeys(acct resayil.AccountID, extra ...string) []string {
	return append([]string{w.keys.Account(acct), w.keys.Holds(acct), w.keys.Leases(acct)}, extra...)
}

// run runs a script whose args start with the two common arguments (see
// lua.go), which it fills in. When the script answers -1 (Redis has no
// balance for the account) it loads the balance and runs the script once
// more with it: two round trips only on a cold account.
func (w *Wallet) run(ctx context.Context, op string, s *redis.Script, acct resayil.AccountID, keys []string, args ...any) ([]int64, error) {
	args[0], args[1] = "", w.now().UnixMilli()
	res, err := s.Run(ctx, w.client, keys, args...).Int64Slice()
	if err != nil {
		return nil, unavailable(op, err)
	}
	return w.loadIfCold(ctx, op, s, acct, keys, args, res)
}

// loadIfCold is the end of run: a -1 answer loads the balance and runs
// the script again with it.
func (w *Wallet) loadIfCold(ctx context.Context, op string, s *redis.Script, acct resayil.AccountID, keys []string, args []any, res []int64) ([]int64, error) {
	if len(res) == 0 || res[0] != -1 {
		return res, nil
	}
	l, err := w.loader.LoadBalance(ctx, acct)
	if err != nil {
		return nil, unavailable(op+": load balance", err)
	}
	args[0] = strconv.FormatInt(int64(max(l.Balance, 0)), 10) + ":" + strconv.FormatInt(int64(max(l.Period, 0)), 10) +
		":" + strconv.FormatInt(max(l.PeriodSeq, 0), 10)
	res, err = s.Run(ctx, w.client, keys, args...).Int64Slice()
	if err != nil {
		return nil, unavailable(op, err)
	}
	if len(res) == 0 || res[0] == -1 {
		return nil, fmt.Errorf("walletredis: %s: balance still missing after load", op)
	}
	return res, nil
}

// unavailable keeps the Redis error in the chain (for logs and errors.Is)
// and adds the code the gateway maps to 503.
func unavailable(op string, err error) error {
	return fmt.Errorf("walletredis: %s: %w: %w", op,
		resayil.Errorf(resayil.EUNAVAILABLE, "Credits are temporarily unavailable. Please retry shortly."), err)
}

// holdTTL is the TTL the holds keys get with a lease.
func holdTTL(lease time.Duration) int64 { return (lease + holdGrace).Milliseconds() }
