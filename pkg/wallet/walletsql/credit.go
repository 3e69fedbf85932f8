package walletsql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/wallet"
)

// Execer is what CreditTx writes through: a *sql.Tx, or the connection of a
// GORM transaction (gorm.DB.Statement.ConnPool), so portal-api's store and
// this package write a grant with the same statements.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreditTx writes the durable part of a grant inside the caller's
// transaction: the credit_ledger row, then the increment of the account's
// wallets row (created when missing), whose period_credits becomes the
// balance after the grant and whose period_seq grows by one, in the same
// statement: the grant starts a new period (the credits "of this period",
// docs/adr/0012-credits-of-this-period.md), whose number the balance
// alerts are deduplicated by. It is the one code path that does so, for
// the embedded wallet (Credit), portal-api's grants and test fixtures.
//
// The row comes first and its unique reference (uq_credit_ledger_reference)
// decides: a reference already in the ledger returns applied=false, nil
// before the balance is touched. The failed INSERT changes nothing on MySQL
// or SQLite, so the caller may commit or roll back; a caller that writes
// more (an audit row) rolls back to keep the grant's effects whole.
//
// live marks the row live-applied at now: true when the database is the
// live wallet (embedded mode), false in Redis mode, where the row is marked
// once walletredis has the grant (the reconciler retries what is left
// unmarked). now is stored as given.
func CreditTx(ctx context.Context, tx Execer, dialect migrations.Dialect, g wallet.Grant, live bool, now time.Time) (applied bool, err error) {
	if err := g.Validate(); err != nil {
		return false, err
	}
	var liveAt sql.NullTime
	if live {
		liveAt = sql.NullTime{Time: now, Valid: true}
	}
	var actor sql.NullInt64
	if g.ActorUserID != 0 {
		actor = sql.NullInt64{Int64: int64(g.ActorUserID), Valid: true}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, reason, actor_user_id, live_applied_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, g.Account, g.Reference, g.LedgerKind(), g.Amount, g.Reason, actor, liveAt, now)
	if isDuplicate(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record grant %s: %w", g.Reference, err)
	}
	if _, err := tx.ExecContext(ctx, upsertCredit(dialect), g.Account, g.Amount, g.Amount, now, g.Amount, g.Amount, now); err != nil {
		return false, fmt.Errorf("add grant %s to wallet: %w", g.Reference, err)
	}
	return true, nil
}

// upsertCredit adds to a wallet, creating it when missing (period 1), sets
// its period_credits to the new balance and counts the period in
// period_seq. Its arguments: account, amount,
// amount, now, amount, amount, now. period_credits is assigned before
// balance_credits and from the old balance plus the amount, so the
// statement means the same whether the server evaluates the assignments
// left to right (MySQL, MariaDB) or all from the old row (SQLite, MariaDB's
// SIMULTANEOUS_ASSIGNMENT).
func upsertCredit(d migrations.Dialect) string {
	if d == migrations.MySQL {
		return `INSERT INTO wallets (account_id, balance_credits, period_credits, period_seq, held_credits, updated_at) VALUES (?, ?, ?, 1, 0, ?)
ON DUPLICATE KEY UPDATE period_credits = balance_credits + ?, balance_credits = balance_credits + ?, period_seq = period_seq + 1, updated_at = ?`
	}
	return `INSERT INTO wallets (account_id, balance_credits, period_credits, period_seq, held_credits, updated_at) VALUES (?, ?, ?, 1, 0, ?)
ON CONFLICT (account_id) DO UPDATE SET period_credits = wallets.balance_credits + ?, balance_credits = wallets.balance_credits + ?, period_seq = wallets.period_seq + 1, updated_at = ?`
}

// Credit implements wallet.Wallet: CreditTx in a transaction of its own,
// the row written already marked live-applied, because here the database
// is the live wallet. A second call with the same reference, concurrent or
// not, returns false and changes nothing.
func (w *Wallet) Credit(ctx context.Context, g wallet.Grant) (bool, error) {
	if err := g.Validate(); err != nil {
		return false, err
	}
	now := w.clock()
	var applied bool
	err := w.tx(ctx, func(tx *sql.Tx) error {
		var err error
		applied, err = CreditTx(ctx, tx, w.dialect, g, true, now)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("walletsql: credit %s: %w", g.Reference, err)
	}
	return applied, nil
}
