package walletsql

import (
	"context"
	"fmt"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// Loader reads an account's durable balance for walletredis when Redis has
// none (a cold or flushed Redis). It satisfies walletredis.Loader.
type Loader struct {
	db *database.DB
}

// NewLoader returns a Loader on db.
func NewLoader(db *database.DB) *Loader { return &Loader{db: db} }

var _ walletredis.Loader = (*Loader)(nil)

// LoadBalance returns the durable balance without the grants that are not
// yet applied live (credit_ledger rows whose live_applied_at is NULL): the
// reconciler still passes those to walletredis Credit, which adds them to
// the loaded balance, so counting them here too would apply them twice.
// For the same reason the period's number is period_seq less the positive
// pending rows: each pending grant's Credit adds its one when applied.
// The period's credits are period_credits as stored: when a grant is still
// pending they already count it, and the pending grant's Credit sets the
// live period anew when it is applied. An account with no wallet row has
// zeros. One statement, one snapshot.
func (l *Loader) LoadBalance(ctx context.Context, acct resayil.AccountID) (walletredis.Loaded, error) {
	var (
		balance, period resayil.Credits
		seq             int64
	)
	err := l.db.SQL.QueryRowContext(ctx, `SELECT
  COALESCE((SELECT balance_credits FROM wallets WHERE account_id = ?), 0)
  - COALESCE((SELECT SUM(amount_credits) FROM credit_ledger WHERE account_id = ? AND live_applied_at IS NULL), 0),
  COALESCE((SELECT period_credits FROM wallets WHERE account_id = ?), 0),
  COALESCE((SELECT period_seq FROM wallets WHERE account_id = ?), 0)
  - (SELECT COUNT(*) FROM credit_ledger WHERE account_id = ? AND live_applied_at IS NULL AND amount_credits > 0)`,
		acct, acct, acct, acct, acct).Scan(&balance, &period, &seq)
	if err != nil {
		return walletredis.Loaded{}, fmt.Errorf("walletsql: load balance: %w", err)
	}
	return walletredis.Loaded{Balance: max(balance, 0), Period: period, PeriodSeq: max(seq, 0)}, nil
}
