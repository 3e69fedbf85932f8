package walletsql

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
)

// Loader reads an account's durable balance for walletredis when Redis has
// none (a cold or flushed Redis). It satisfies walletredis.Loader.
type Loader struct {
	db *sql.DB
}

// NewLoader returns a Loader on db.
func NewLoader(db *database.DB) *Loader { return &Loader{db: db.SQL} }

// LoadBalance returns the durable balance without the grants that are not
// yet applied live (credit_ledger rows whose live_applied_at is NULL): the
// reconciler still passes those to walletredis Credit, which adds them to
// the loaded balance, so counting them here too would apply them twice.
// period is the wallet's period_credits as stored: when a grant is still
// pending it already counts it, and the pending grant's Credit sets the
// live period anew when it is applied. An account with no wallet row has
// 0 and 0. One statement, one snapshot.
func (l *Loader) LoadBalance(ctx context.Context, acct resayil.AccountID) (balance, period resayil.Credits, err error) {
	err = l.db.QueryRowContext(ctx, `SELECT
  COALESCE((SELECT balance_credits FROM wallets WHERE account_id = ?), 0)
  - COALESCE((SELECT SUM(amount_credits) FROM credit_ledger WHERE account_id = ? AND live_applied_at IS NULL), 0),
  COALESCE((SELECT period_credits FROM wallets WHERE account_id = ?), 0)`,
		acct, acct, acct).Scan(&balance, &period)
	if err != nil {
		return 0, 0, fmt.Errorf("walletsql: load balance: %w", err)
	}
	return max(balance, 0), period, nil
}
