package walletredis

import (
	"context"

	"github.com/resayil/portal/pkg/resayil"
)

// Loader reads an account's durable balance when Redis has none: on first
// use, or after Redis lost its data. walletsql.Loader implements it.
//
// The balance must count the debits already flushed to the database and
// only the grants already applied live: a grant whose ledger row is
// committed but not yet marked live-applied is left out, because the
// reconciler will still pass it to Credit, which adds it then. (Counting it
// here as well would apply it twice.) Holds are never subtracted: they live
// only in Redis. Usage still in the stream when Redis lost its data is not
// in the database either, so it is not debited: the user's gain, bounded by
// the usage flush interval (docs/architecture.md "Two ways to run").
//
// The loaded value is written only if the balance is still absent when the
// script runs (SET NX semantics inside the script), so concurrent loaders
// and a Credit racing a load cannot apply anything twice.
//
// The period's credits and number are loaded with the balance so that the
// live wallet keeps them (docs/adr/0012-credits-of-this-period.md); the
// number, like the balance, leaves out the grants not yet applied live,
// each of which adds its one when Credit applies it.
type Loader interface {
	LoadBalance(ctx context.Context, account resayil.AccountID) (Loaded, error)
}

// Loaded is an account's durable wallet as a Loader reads it.
type Loaded struct {
	Balance resayil.Credits
	// Period is the credits "of this period": the balance right after the
	// most recent grant.
	Period resayil.Credits
	// PeriodSeq numbers the period (wallets.period_seq).
	PeriodSeq int64
}
