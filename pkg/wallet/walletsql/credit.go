package walletsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/resayil/portal/pkg/wallet"
)

// errApplied aborts a Credit whose reference is already in the ledger.
var errApplied = errors.New("walletsql: grant already applied")

// Credit implements wallet.Wallet. The ledger row and the balance change are
// one transaction, and the ledger's unique reference
// (uq_credit_ledger_reference) is what turns a second webhook for the same
// payment into a rolled-back no-op. Here the database is the live wallet,
// so the row is written already marked live-applied.
func (w *Wallet) Credit(ctx context.Context, g wallet.Grant) (bool, error) {
	if err := g.Validate(); err != nil {
		return false, err
	}
	now := w.clock()
	var actor sql.NullInt64
	if g.ActorUserID != 0 {
		actor = sql.NullInt64{Int64: int64(g.ActorUserID), Valid: true}
	}
	err := w.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, reason, actor_user_id, live_applied_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, g.Account, g.Reference, g.LedgerKind(), g.Amount, g.Reason, actor, now, now)
		if isDuplicate(err) {
			return errApplied
		}
		if err != nil {
			return fmt.Errorf("record grant: %w", err)
		}
		if _, err := tx.ExecContext(ctx, w.upsertCredit, g.Account, g.Amount, now, g.Amount, now); err != nil {
			return fmt.Errorf("add to wallet: %w", err)
		}
		return nil
	})
	if errors.Is(err, errApplied) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("walletsql: credit %s: %w", g.Reference, err)
	}
	return true, nil
}
