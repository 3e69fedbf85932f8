package walletsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Balance implements wallet.Wallet. It is one statement, so it reads one
// consistent snapshot without taking the write lock, and it subtracts
// expired holds without deleting them (Reserve and ReclaimExpired do that).
func (w *Wallet) Balance(ctx context.Context, acct resayil.AccountID) (wallet.Balance, error) {
	var (
		total, held, expired, period resayil.Credits
		seq                          int64
	)
	err := w.db.QueryRowContext(ctx, `SELECT w.balance_credits, w.held_credits, w.period_credits, w.period_seq,
  COALESCE((SELECT SUM(h.amount_credits) FROM wallet_holds h WHERE h.account_id = w.account_id AND h.expires_at <= ?), 0)
FROM wallets w WHERE w.account_id = ?`, w.clock(), acct).Scan(&total, &held, &period, &seq, &expired)
	if errors.Is(err, sql.ErrNoRows) {
		return wallet.Balance{}, nil
	}
	if err != nil {
		return wallet.Balance{}, fmt.Errorf("walletsql: balance: %w", err)
	}
	held -= expired
	return wallet.Balance{Total: total, Held: held, Available: total - held, Period: period, PeriodSeq: seq}, nil
}
