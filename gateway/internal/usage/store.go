package usage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/usagehourly"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// store writes batches of usage events to usage_records and wallets.
//
// Which rows of a batch are new decides what is debited, so it must be
// known exactly. The fast path is multi-row INSERTs (the whole batch in one
// on MySQL, see rowsPerInsertSQLite) that skip duplicates of request_id:
// ON DUPLICATE KEY UPDATE with no change on MySQL, ON CONFLICT DO NOTHING on
// SQLite. Both count only inserted rows as affected (on MySQL because the
// driver's clientFoundRows is off, as package database leaves it). When
// every row was inserted, which is nearly always, every row is debited. When fewer were, the transaction is rolled back and run
// again inserting one row at a time, each statement saying whether its row
// was new. A SELECT of existing ids before the INSERT would not do: MySQL's
// case- and pad-insensitive collation can call two ids equal that Go does
// not, and a concurrent Writer can insert between the SELECT and the
// INSERT. Deliberately not INSERT IGNORE / INSERT OR IGNORE: they also
// swallow other errors (truncation, NOT NULL, CHECK), which would record a
// row wrongly instead of failing.
type store struct {
	db *sql.DB
	// onDuplicate ends the INSERT so that a duplicate request_id is
	// skipped and not counted as affected.
	onDuplicate string
	// forUpdate locks the wallet row read by debit on MySQL; SQLite's
	// write transactions are serialized already (BEGIN IMMEDIATE).
	forUpdate string
	// rowsPerInsert caps the rows of one INSERT statement (see
	// rowsPerInsertSQLite).
	rowsPerInsert int
	dialect       migrations.Dialect
	// topUpURL is the link the balance alerts carry.
	topUpURL string
}

func newStore(db *database.DB, topUpURL string) *store {
	s := &store{db: db.SQL, dialect: db.Dialect, topUpURL: topUpURL}
	switch db.Dialect {
	case migrations.MySQL:
		s.onDuplicate = " ON DUPLICATE KEY UPDATE request_id = request_id"
		s.forUpdate = " FOR UPDATE"
		s.rowsPerInsert = rowsPerInsertMySQL
	default:
		s.onDuplicate = " ON CONFLICT (request_id) DO NOTHING"
		s.rowsPerInsert = rowsPerInsertSQLite
	}
	return s
}

// batchResult is what one committed batch did.
type batchResult struct {
	written    int
	duplicates int
	// alerts is the outbox rows inserted.
	alerts int
	// unpaid lists the accounts whose durable balance could not pay the
	// batch's debit, with what was left unpaid.
	unpaid []unpaidDebit
}

type unpaidDebit struct {
	account resayil.AccountID
	debit   resayil.Credits
	unpaid  resayil.Credits
}

// errSomeRecorded sends a batch from the multi-row path to the row-by-row
// one.
var errSomeRecorded = errors.New("usage: some rows already recorded")

// write records rows and alerts in one transaction: inserts the new rows
// and debits their credits, and writes each alert's outbox row unless its
// period has one. Rows with a request id already recorded, in the database
// or earlier in rows, count as duplicates and change nothing; so does an
// alert already written (a replayed event carries the same alert, whose
// dedupe key names its period). On error nothing was written.
func (s *store) write(ctx context.Context, rows []walletredis.Usage, alerts []wallet.Alert, now time.Time) (batchResult, error) {
	rows, dups := dedupe(rows)
	alerts = dedupeAlerts(alerts)
	res, err := s.tx(ctx, rows, alerts, false, now)
	if errors.Is(err, errSomeRecorded) {
		res, err = s.tx(ctx, rows, alerts, true, now)
	}
	res.duplicates += dups
	return res, err
}

// dedupe drops repeats of a request id within one batch (a replay read
// together with its original), keeping the first.
func dedupe(rows []walletredis.Usage) ([]walletredis.Usage, int) {
	seen := make(map[string]struct{}, len(rows))
	out := rows[:0:0]
	for _, r := range rows {
		if _, ok := seen[r.RequestID]; ok {
			continue
		}
		seen[r.RequestID] = struct{}{}
		out = append(out, r)
	}
	return out, len(rows) - len(out)
}

// dedupeAlerts sorts alerts by dedupe key, without repeats: two Writers'
// batches then insert the same outbox rows in the same order, and queue on
// MariaDB's index locks instead of deadlocking.
func dedupeAlerts(alerts []wallet.Alert) []wallet.Alert {
	if len(alerts) < 2 {
		return alerts
	}
	keyed := make(map[string]wallet.Alert, len(alerts))
	for _, a := range alerts {
		if _, ok := keyed[a.DedupeKey()]; !ok {
			keyed[a.DedupeKey()] = a
		}
	}
	keys := slices.Sorted(maps.Keys(keyed))
	out := make([]wallet.Alert, len(keys))
	for i, k := range keys {
		out[i] = keyed[k]
	}
	return out
}

func (s *store) tx(ctx context.Context, rows []walletredis.Usage, alerts []wallet.Alert, oneByOne bool, now time.Time) (res batchResult, err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return batchResult{}, fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	fresh := rows
	if oneByOne {
		fresh = make([]walletredis.Usage, 0, len(rows))
		for i := range rows {
			n, err := s.insert(ctx, tx, rows[i:i+1])
			if err != nil {
				return batchResult{}, err
			}
			if n == 1 {
				fresh = append(fresh, rows[i])
			}
		}
	} else {
		for chunk := range slices.Chunk(rows, s.rowsPerInsert) {
			n, err := s.insert(ctx, tx, chunk)
			if err != nil {
				return batchResult{}, err
			}
			if n != int64(len(chunk)) {
				return batchResult{}, errSomeRecorded
			}
		}
	}
	res = batchResult{written: len(fresh), duplicates: len(rows) - len(fresh)}

	debits := map[resayil.AccountID]resayil.Credits{}
	for _, r := range fresh {
		debits[r.Account] += r.Credits
	}
	accounts := make([]resayil.AccountID, 0, len(debits))
	for a, d := range debits {
		if d > 0 {
			accounts = append(accounts, a)
		}
	}
	// One order for every Writer, so two transactions debiting the same
	// accounts queue on MySQL's row locks instead of deadlocking.
	slices.Sort(accounts)
	for _, a := range accounts {
		unpaid, err := s.debit(ctx, tx, a, debits[a], now)
		if err != nil {
			return batchResult{}, err
		}
		if unpaid > 0 {
			res.unpaid = append(res.unpaid, unpaidDebit{account: a, debit: debits[a], unpaid: unpaid})
		}
	}
	// The rollup sums exactly the rows this transaction inserted (fresh),
	// so a duplicate event adds nothing; its upserts go in the primary
	// key's order, as the debits go in the accounts', for the same reason.
	hourly := usagehourly.New()
	for _, r := range fresh {
		hourly.Add(usagehourly.Record{Account: int64(r.Account), APIKeyID: r.APIKeyID, Model: r.Model, Backend: r.Backend,
			Status: r.Status, PromptTokens: int64(r.PromptTokens), CompletionTokens: int64(r.CompletionTokens),
			Credits: int64(r.Credits), CreatedAt: r.CreatedAt})
	}
	if err := hourly.Write(ctx, tx, s.dialect); err != nil {
		return batchResult{}, err
	}
	for _, a := range alerts {
		ok, err := walletsql.RecordAlert(ctx, tx, s.dialect, a, s.topUpURL, now)
		if err != nil {
			return batchResult{}, fmt.Errorf("record alert %s: %w", a.DedupeKey(), err)
		}
		if ok {
			res.alerts++
		}
	}
	if err := tx.Commit(); err != nil {
		return batchResult{}, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// usageColumns are the usage_records columns insert writes, in order.
const usageColumns = `request_id, client_request_id, account_id, api_key_id, model, backend,
  prompt_tokens, completion_tokens, total_tokens, credits, shortfall_credits, held_credits, status, latency_ms, ttfb_ms, created_at`

const usageRowParams = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// insert writes rows in one statement and returns how many were new.
func (s *store) insert(ctx context.Context, tx *sql.Tx, rows []walletredis.Usage) (int64, error) {
	var q strings.Builder
	q.Grow(len(usageColumns) + 64 + len(rows)*(len(usageRowParams)+2))
	q.WriteString("INSERT INTO usage_records (" + usageColumns + ") VALUES ")
	args := make([]any, 0, 16*len(rows))
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(usageRowParams)
		var apiKey sql.NullInt64
		if r.APIKeyID != 0 {
			apiKey = sql.NullInt64{Int64: r.APIKeyID, Valid: true}
		}
		args = append(args, r.RequestID, r.ClientRequestID, int64(r.Account), apiKey, r.Model, r.Backend,
			r.PromptTokens, r.CompletionTokens, r.TotalTokens, int64(r.Credits), int64(r.Shortfall), int64(r.Held), r.Status,
			r.Latency.Milliseconds(), r.TTFB.Milliseconds(), r.CreatedAt.UTC())
	}
	q.WriteString(s.onDuplicate)
	res, err := tx.ExecContext(ctx, q.String(), args...)
	if err != nil {
		return 0, fmt.Errorf("insert usage records: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("insert usage records: %w", err)
	}
	return n, nil
}

// debit takes amount from the account's durable balance and returns what it
// could not take.
//
// Redis never lets a live balance go below zero, and grants reach the
// database before Redis, so the durable balance (grants minus flushed
// debits) always covers a flushed debit; a shortfall here means the two
// disagree (a hand-edited wallet, a bug). Failing the batch would not fix
// that: the CHECK (balance_credits >= 0) would fail it again on every retry,
// and every account behind it in the stream would stop being recorded.
// So the debit takes what the balance has, the usage record keeps the
// credits Redis charged, and the difference is logged and counted
// (Stats.Unpaid): the balance then differs from grants minus debits, which
// is exactly what `portal-api ledger verify` reports to an operator.
func (s *store) debit(ctx context.Context, tx *sql.Tx, acct resayil.AccountID, amount resayil.Credits, now time.Time) (resayil.Credits, error) {
	res, err := tx.ExecContext(ctx, `UPDATE wallets SET balance_credits = balance_credits - ?, updated_at = ?
WHERE account_id = ? AND balance_credits >= ?`, int64(amount), now, int64(acct), int64(amount))
	if err != nil {
		return 0, fmt.Errorf("debit wallet %d: %w", acct, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("debit wallet %d: %w", acct, err)
	} else if n == 1 {
		return 0, nil
	}
	var balance resayil.Credits
	err = tx.QueryRowContext(ctx, `SELECT balance_credits FROM wallets WHERE account_id = ?`+s.forUpdate, int64(acct)).Scan(&balance)
	if errors.Is(err, sql.ErrNoRows) {
		return amount, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read wallet %d: %w", acct, err)
	}
	take := max(min(amount, balance), 0)
	if take > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE wallets SET balance_credits = balance_credits - ?, updated_at = ? WHERE account_id = ?`,
			int64(take), now, int64(acct)); err != nil {
			return 0, fmt.Errorf("debit wallet %d: %w", acct, err)
		}
	}
	return amount - take, nil
}

// Rows per INSERT statement. MySQL takes a whole batch in one statement.
// The SQLite driver (glebarez/go-sqlite) binds parameters in time quadratic
// in their number (each one is looked up among all arguments), so a
// 500-row statement (8,000 parameters) spends most of its time binding;
// statements of 16 rows write a batch about four times faster
// (BenchmarkWriteBatch) and, within one transaction, cost nothing else.
const (
	rowsPerInsertMySQL  = MaxBatchSize
	rowsPerInsertSQLite = 16
)
