// Package wallet reserves and settles the credits an API request spends, and
// applies the grants that fund an account. It is the one place that enforces
// invariants 1 and 2 (docs/architecture.md "The invariants, and the test
// that holds each") for money in flight:
//
//   - Invariant 1: a request is admitted only if its reservation (a hold) fits
//     the balance, checked and taken in one atomic step, so that under any
//     concurrency the balance never goes below zero; settling debits the real
//     cost, at most the hold plus what is left of the balance, and records the
//     rest as a shortfall instead of driving the balance negative.
//   - Invariant 2: a request id is settled (one debit, one usage record) at
//     most once, and a grant reference is applied at most once, however many
//     times, and however concurrently, the call is repeated.
//
// Two implementations sit behind Wallet (docs/architecture.md "Two ways to
// run"): walletsql for the embedded mode, where the SQLite (or MySQL)
// database is the wallet shared by gateway and portal-api, and walletredis
// for production, where Redis holds the live balances and the database is the
// durable record. Both pass wallettest's conformance suite, concurrency
// included, so the gateway's admission code is the same in both modes.
//
// Holds are leases: the gateway renews a hold while its request runs, and a
// hold whose lease ran out (its gateway died) stops counting against the
// balance, so a crashed replica cannot leave an account with a false 402.
package wallet

import (
	"context"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// DefaultLease is the lease of a hold whose Hold.Lease is zero. It is long
// enough for a model to load before the first byte, short enough that a dead
// gateway's holds come back within minutes; a running request renews it
// (every lease/3 is a good rhythm).
const DefaultLease = 2 * time.Minute

// Wallet is an account's credit balance with holds for requests in flight.
// Every method is safe for concurrent use, across goroutines and across
// processes sharing the same store. Errors other than those listed are
// infrastructure failures: walletredis marks them resayil.EUNAVAILABLE (the
// gateway answers 503, never a free request); anything else is EINTERNAL.
type Wallet interface {
	// Reserve atomically checks the available balance (balance minus live
	// holds) and places a hold of min(h.Amount, available) on it, provided
	// that is at least h.MinAmount; it returns the amount held. The gateway
	// lowers max_tokens to what a partial grant pays for.
	//
	// Below h.MinAmount nothing is held and the error has code
	// resayil.EINSUFFICIENTCREDITS and is an *InsufficientCreditsError
	// carrying the available balance (see AvailableCredits). Expired holds
	// are reclaimed before that answer is given. Reserving again with a
	// request id that already holds credits returns the existing hold: a
	// retried call is not a second reservation. An invalid Hold wraps
	// ErrInvalid.
	Reserve(ctx context.Context, h Hold) (resayil.Credits, error)

	// Renew extends the lease of a request's hold to now + lease (zero means
	// DefaultLease). A hold that was settled, released or reclaimed returns
	// ErrHoldNotFound (code resayil.ENOTFOUND): the request may still settle,
	// its cost is then taken from the free balance.
	Renew(ctx context.Context, account resayil.AccountID, requestID string, lease time.Duration) error

	// Settle debits the real cost of a finished request exactly once per
	// request id: it drops the request's hold, debits min(s.Cost, hold +
	// free balance), records what could not be paid as the shortfall, and
	// records one usage record (embedded mode: a usage_records row in the
	// same transaction; Redis mode: a usage event on the stream in the same
	// script). The balance never goes below zero.
	//
	// A second Settle with the same request id changes nothing and returns
	// the first call's Charged and Shortfall with Replayed set (Balance is
	// the current one). An invalid Settlement wraps ErrInvalid.
	Settle(ctx context.Context, s Settlement) (SettleResult, error)

	// Release drops a request's hold without a debit, for a request that
	// failed before reaching an upstream, and returns the credits freed.
	// Releasing a hold that does not exist (already settled, released or
	// reclaimed) frees nothing and is not an error.
	Release(ctx context.Context, account resayil.AccountID, requestID string) (resayil.Credits, error)

	// Credit applies a grant to the live balance once per g.Reference and
	// reports whether this call applied it; a repeated reference, concurrent
	// or not, returns applied=false and changes nothing. In embedded mode it
	// also writes the credit_ledger row (the durable record) in the same
	// transaction; in Redis mode the ledger row is committed to the database
	// first by the caller (docs/architecture.md "Two ways to run"). An
	// invalid Grant wraps ErrInvalid.
	Credit(ctx context.Context, g Grant) (applied bool, err error)

	// Balance returns the account's balance, what live holds take from it
	// and what is available. Expired holds do not count. An account that was
	// never funded has a zero Balance and no error.
	Balance(ctx context.Context, account resayil.AccountID) (Balance, error)

	// ReclaimExpired drops every hold whose lease has run out, on every
	// account, and returns how many it dropped. Reserve, Settle and Balance
	// already ignore expired holds of the account they touch; this is for a
	// periodic sweep so that held totals shown to people stay true.
	ReclaimExpired(ctx context.Context) (int, error)
}
