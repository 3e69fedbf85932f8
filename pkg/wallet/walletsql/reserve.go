package walletsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// errHoldExists aborts a Reserve whose request id already holds credits.
var errHoldExists = errors.New("walletsql: hold exists")

// Reserve implements wallet.Wallet: lock the wallet row, decide with
// wallet.Hold.Grant, then take the hold with a conditional UPDATE and record
// it in wallet_holds, all in one transaction. Expired holds are reclaimed
// only when the available balance falls short, so the common case is four
// statements.
//
// A refusal of a request's hold (h.AlertOnRefusal) raises the account's
// credits_exhausted alert in the same transaction, which then commits
// (with the expired holds it reclaimed) instead of rolling back. The
// alert's dedupe key makes it once per period; the memo of periods already
// written makes a flood of refusals cost one INSERT, not one each.
func (w *Wallet) Reserve(ctx context.Context, h wallet.Hold) (resayil.Credits, error) {
	if err := h.Validate(); err != nil {
		return 0, err
	}
	now := w.clock()
	var (
		granted resayil.Credits
		// refusal is the refusal decided in the transaction, returned
		// after it commits; alerted the period it wrote the alert of.
		refusal error
		alerted *alertPeriod
	)
	err := w.tx(ctx, func(tx *sql.Tx) error {
		refusal, alerted = nil, nil
		wr, found, err := w.lockWallet(ctx, tx, h.Account)
		if err != nil {
			return err
		}
		available := wr.balance - wr.held
		if found && available < h.Amount {
			_, freed, err := w.reclaimAccount(ctx, tx, h.Account, now)
			if err != nil {
				return err
			}
			available += freed
		}
		g, err := h.Grant(available)
		if err != nil {
			refusal = err
			if h.AlertOnRefusal && !w.refused.has(h.Account, wr.seq) {
				a := wallet.Alert{Kind: wallet.AlertExhausted, Account: h.Account, PeriodSeq: wr.seq, Balance: wr.balance}
				if _, err := RecordAlert(ctx, tx, w.dialect, a, w.topUpURL, now); err != nil {
					return err
				}
				alerted = &alertPeriod{h.Account, wr.seq}
			}
			return nil
		}
		res, err := tx.ExecContext(ctx, `UPDATE wallets SET held_credits = held_credits + ?, updated_at = ?
WHERE account_id = ? AND balance_credits - held_credits >= ?`, g, now, h.Account, g)
		if err != nil {
			return fmt.Errorf("hold credits: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			// Cannot happen under the row lock; refuse rather than overdraw.
			return fmt.Errorf("hold credits: wallet changed under lock (%d rows, %v)", n, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO wallet_holds (request_id, account_id, amount_credits, created_at, expires_at)
VALUES (?, ?, ?, ?, ?)`, h.RequestID, h.Account, g, now, now.Add(h.LeaseOrDefault()))
		if isDuplicate(err) {
			return errHoldExists
		}
		if err != nil {
			return fmt.Errorf("record hold: %w", err)
		}
		granted = g
		return nil
	})
	if errors.Is(err, errHoldExists) {
		return w.existingHold(ctx, h)
	}
	if err != nil {
		return 0, fmt.Errorf("walletsql: reserve: %w", err)
	}
	if alerted != nil {
		w.refused.add(alerted.account, alerted.seq)
	}
	if refusal != nil {
		return 0, refusal
	}
	return granted, nil
}

// existingHold answers a repeated Reserve with the hold the first one took.
func (w *Wallet) existingHold(ctx context.Context, h wallet.Hold) (resayil.Credits, error) {
	var amount resayil.Credits
	err := w.db.QueryRowContext(ctx, `SELECT amount_credits FROM wallet_holds WHERE request_id = ? AND account_id = ?`,
		h.RequestID, h.Account).Scan(&amount)
	if errors.Is(err, sql.ErrNoRows) {
		// Held by another account, or settled between the two statements:
		// either way the caller reused a request id.
		return 0, resayil.Errorf(resayil.ECONFLICT, "The request id %q is already in use.", h.RequestID)
	}
	if err != nil {
		return 0, fmt.Errorf("walletsql: reserve: read existing hold: %w", err)
	}
	return amount, nil
}

// Renew implements wallet.Wallet. It touches only the hold's row: moving a
// lease forward never makes room for anyone, so it needs no wallet lock.
func (w *Wallet) Renew(ctx context.Context, acct resayil.AccountID, requestID string, lease time.Duration) error {
	until := w.clock().Add(wallet.LeaseOrDefault(lease))
	res, err := w.db.ExecContext(ctx, `UPDATE wallet_holds SET expires_at = ? WHERE request_id = ? AND account_id = ?`,
		until, requestID, acct)
	if err != nil {
		return fmt.Errorf("walletsql: renew: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 1 {
		return nil
	}
	// MySQL counts only changed rows: an unchanged expiry reports 0.
	var one int
	err = w.db.QueryRowContext(ctx, `SELECT 1 FROM wallet_holds WHERE request_id = ? AND account_id = ?`, requestID, acct).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return wallet.ErrHoldNotFound
	}
	if err != nil {
		return fmt.Errorf("walletsql: renew: %w", err)
	}
	return nil
}

// Release implements wallet.Wallet.
func (w *Wallet) Release(ctx context.Context, acct resayil.AccountID, requestID string) (resayil.Credits, error) {
	var freed resayil.Credits
	err := w.tx(ctx, func(tx *sql.Tx) error {
		freed = 0
		if _, found, err := w.lockWallet(ctx, tx, acct); err != nil || !found {
			return err
		}
		amount, err := w.dropHold(ctx, tx, acct, requestID)
		if err != nil || amount == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE wallets SET held_credits = held_credits - ?, updated_at = ? WHERE account_id = ?`,
			amount, w.clock(), acct); err != nil {
			return fmt.Errorf("release hold: %w", err)
		}
		freed = amount
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("walletsql: release: %w", err)
	}
	return freed, nil
}

// dropHold deletes a request's hold, expired or not, and returns its amount
// (0 when there is none). The caller holds the wallet lock and must take the
// amount off held_credits.
func (w *Wallet) dropHold(ctx context.Context, tx *sql.Tx, acct resayil.AccountID, requestID string) (resayil.Credits, error) {
	var amount resayil.Credits
	var err error
	if w.dialect == migrations.SQLite {
		// One statement instead of a read and a delete: SQLite parses every
		// statement afresh, and this runs in every settlement.
		err = tx.QueryRowContext(ctx, `DELETE FROM wallet_holds WHERE request_id = ? AND account_id = ? RETURNING amount_credits`,
			requestID, acct).Scan(&amount)
	} else {
		err = tx.QueryRowContext(ctx, `SELECT amount_credits FROM wallet_holds WHERE request_id = ? AND account_id = ?`+w.forUpdate,
			requestID, acct).Scan(&amount)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("drop hold: %w", err)
	}
	if w.dialect != migrations.SQLite {
		if _, err := tx.ExecContext(ctx, `DELETE FROM wallet_holds WHERE request_id = ?`, requestID); err != nil {
			return 0, fmt.Errorf("delete hold: %w", err)
		}
	}
	return amount, nil
}
