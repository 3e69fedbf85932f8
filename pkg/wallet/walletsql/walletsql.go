// Package walletsql is the wallet.Wallet of the embedded mode: the database
// (the SQLite file shared by gateway and portal-api, or MySQL/MariaDB) is
// the wallet itself, with no Redis in between.
//
// Why conditional updates inside transactions: the check "does the hold fit"
// and the write "take it" must be one step (invariant 1). Each operation
// locks the account's wallets row first (SELECT ... FOR UPDATE on MySQL;
// SQLite's BEGIN IMMEDIATE, set by package database, takes the database's
// write lock), then writes with a conditional UPDATE
// (... WHERE balance_credits - held_credits >= ?) as a second guard, with the
// CHECK constraints of the schema as the last one. Every operation locks the
// wallet row before any wallet_holds row, so MySQL transactions of one
// account queue instead of deadlocking.
//
// Why unique indexes carry idempotency (invariant 2): Settle writes the debit
// and the usage record (uq_usage_request_id) in one transaction, and
// CreditTx writes the credit_ledger row (uq_credit_ledger_reference) and the
// balance in the caller's transaction (Credit's own, or portal-api's). A duplicate-key error on either means "already done":
// the transaction rolls back, debit or grant included, and the first
// outcome is reported. Nothing relies on a read-then-write check.
//
// Tables: wallets (balance_credits, held_credits, period_credits,
// period_seq), wallet_holds (one row per live hold, with its lease expiry),
// credit_ledger, usage_records, and notifications for the balance alerts
// (alert.go, docs/adr/0014-balance-alerts-once-per-period.md); see
// migrations/*/00001_init.sql and later.
package walletsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Config tunes a Wallet; the zero value is ready for production.
type Config struct {
	// Now is the time source for leases and timestamps; nil means
	// time.Now. Tests pass a manual clock instead of sleeping.
	Now func() time.Time
	// TopUpURL is the link the balance alerts carry
	// (wallet.TopUpURL(RESAYIL_PUBLIC_URL)); the gateway sets it. Alerts
	// are written whether or not it is set.
	TopUpURL string
}

// Wallet is the SQL wallet. It is safe for concurrent use, and several
// processes may share the database.
type Wallet struct {
	db  *sql.DB
	now func() time.Time
	// forUpdate locks the rows a transaction reads on MySQL; SQLite has no
	// row locks and needs none (its write transactions are serialized).
	forUpdate string
	dialect   migrations.Dialect
	// writeMu queues this process's SQLite write transactions in Go. SQLite
	// admits one writer at a time; waiting on a mutex is fairer and much
	// faster under load than SQLite's busy handler, which polls with sleeps.
	// Other processes are still queued by busy_timeout. Nil on MySQL.
	writeMu *sync.Mutex
	// topUpURL: Config.TopUpURL.
	topUpURL string
	// refused remembers the periods whose credits_exhausted row this
	// process has written, so that a flood of 402s writes it once.
	refused alertMemo
}

var _ wallet.Wallet = (*Wallet)(nil)

// New returns a Wallet on db, which must be migrated.
func New(db *database.DB, cfg Config) *Wallet {
	w := &Wallet{db: db.SQL, now: cfg.Now, dialect: db.Dialect, topUpURL: cfg.TopUpURL}
	if w.now == nil {
		w.now = time.Now
	}
	switch db.Dialect {
	case migrations.MySQL:
		w.forUpdate = " FOR UPDATE"
	default:
		w.writeMu = &sync.Mutex{}
	}
	return w
}

// clock returns the current time as stored: UTC, whole microseconds (MySQL
// DATETIME(6) precision), so that SQLite's text timestamps compare in time
// order and both dialects round the same way.
func (w *Wallet) clock() time.Time { return dbtime.Of(w.now()) }

// tx runs fn in a transaction, retried when it lost to another one.
func (w *Wallet) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return database.RunTx(ctx, w.db, w.writeMu, fn)
}

// walletRow is a locked wallets row.
type walletRow struct {
	balance, held resayil.Credits
	// period and seq are the credits of this period and its number
	// (period_credits, period_seq), which the balance alerts need.
	period resayil.Credits
	seq    int64
}

// lockWallet reads and locks an account's wallet row; found is false when
// the account has never been funded.
func (w *Wallet) lockWallet(ctx context.Context, tx *sql.Tx, acct resayil.AccountID) (r walletRow, found bool, err error) {
	err = tx.QueryRowContext(ctx,
		`SELECT balance_credits, held_credits, period_credits, period_seq FROM wallets WHERE account_id = ?`+w.forUpdate, acct).
		Scan(&r.balance, &r.held, &r.period, &r.seq)
	if errors.Is(err, sql.ErrNoRows) {
		return walletRow{}, false, nil
	}
	if err != nil {
		return walletRow{}, false, fmt.Errorf("lock wallet: %w", err)
	}
	return r, true, nil
}
