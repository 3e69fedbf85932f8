package walletsql

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// reclaimBatch bounds how many accounts one ReclaimExpired pass visits.
const reclaimBatch = 500

// reclaimAccount deletes the account's holds whose lease ran out and takes
// them off held_credits. The caller holds the wallet lock. Each hold is
// deleted by id and only if still expired, so a Renew that raced in keeps
// its hold, and only what was really deleted is freed.
func (w *Wallet) reclaimAccount(ctx context.Context, tx *sql.Tx, acct resayil.AccountID, now time.Time) (n int, freed resayil.Credits, err error) {
	rows, err := tx.QueryContext(ctx, `SELECT request_id, amount_credits FROM wallet_holds
WHERE account_id = ? AND expires_at <= ?`+w.forUpdate, acct, now)
	if err != nil {
		return 0, 0, fmt.Errorf("find expired holds: %w", err)
	}
	type hold struct {
		id     string
		amount resayil.Credits
	}
	var expired []hold
	for rows.Next() {
		var h hold
		if err := rows.Scan(&h.id, &h.amount); err != nil {
			rows.Close()
			return 0, 0, fmt.Errorf("find expired holds: %w", err)
		}
		expired = append(expired, h)
	}
	if err := rows.Close(); err != nil {
		return 0, 0, fmt.Errorf("find expired holds: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("find expired holds: %w", err)
	}
	for _, h := range expired {
		res, err := tx.ExecContext(ctx, `DELETE FROM wallet_holds WHERE request_id = ? AND expires_at <= ?`, h.id, now)
		if err != nil {
			return 0, 0, fmt.Errorf("reclaim hold: %w", err)
		}
		if k, err := res.RowsAffected(); err == nil && k == 1 {
			n++
			freed += h.amount
		}
	}
	if freed > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE wallets SET held_credits = held_credits - ?, updated_at = ? WHERE account_id = ?`,
			freed, now, acct); err != nil {
			return 0, 0, fmt.Errorf("reclaim holds: %w", err)
		}
	}
	return n, freed, nil
}

// ReclaimExpired implements wallet.Wallet: it finds the accounts with
// expired holds, then reclaims each account in its own short transaction
// (wallet row first, as everywhere), so a sweep never blocks all accounts at
// once.
func (w *Wallet) ReclaimExpired(ctx context.Context) (int, error) {
	total := 0
	for {
		now := w.clock()
		accts, err := w.accountsWithExpiredHolds(ctx, now)
		if err != nil {
			return total, err
		}
		found, pass := 0, 0
		for _, acct := range accts {
			err := w.tx(ctx, func(tx *sql.Tx) error {
				found = 0
				if _, ok, err := w.lockWallet(ctx, tx, acct); err != nil || !ok {
					return err
				}
				n, _, err := w.reclaimAccount(ctx, tx, acct, now)
				found = n
				return err
			})
			if err != nil {
				return total, fmt.Errorf("walletsql: reclaim expired holds: %w", err)
			}
			total += found
			pass += found
		}
		if len(accts) < reclaimBatch || pass == 0 {
			return total, nil
		}
	}
}

func (w *Wallet) accountsWithExpiredHolds(ctx context.Context, now time.Time) ([]resayil.AccountID, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT DISTINCT account_id FROM wallet_holds WHERE expires_at <= ? LIMIT ?`, now, reclaimBatch)
	if err != nil {
		return nil, fmt.Errorf("walletsql: find expired holds: %w", err)
	}
	defer rows.Close()
	var accts []resayil.AccountID
	for rows.Next() {
		var a resayil.AccountID
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("walletsql: find expired holds: %w", err)
		}
		accts = append(accts, a)
	}
	return accts, rows.Err()
}
