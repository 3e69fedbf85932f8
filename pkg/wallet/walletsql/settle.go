package walletsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/usagehourly"
	"github.com/resayil/portal/pkg/wallet"
)

// errSettled aborts a Settle whose request id already has a usage record.
var errSettled = errors.New("walletsql: already settled")

// Settle implements wallet.Wallet. The debit, the release of the hold and
// the usage record are one transaction; the usage record's unique request id
// (uq_usage_request_id) is what makes a second settlement roll back its
// debit, whether it ran concurrently or a day later.
func (w *Wallet) Settle(ctx context.Context, s wallet.Settlement) (wallet.SettleResult, error) {
	if err := s.Validate(); err != nil {
		return wallet.SettleResult{}, err
	}
	now := w.clock()
	var (
		result wallet.SettleResult
		// exhausted is the period whose credits_exhausted row this
		// settlement wrote, for the refusals' memo.
		exhausted *alertPeriod
	)
	err := w.tx(ctx, func(tx *sql.Tx) error {
		exhausted = nil
		wr, found, err := w.lockWallet(ctx, tx, s.Account)
		if err != nil {
			return err
		}
		balance, held := wr.balance, wr.held
		var hold resayil.Credits
		if found {
			if hold, err = w.dropHold(ctx, tx, s.Account, s.RequestID); err != nil {
				return err
			}
			held -= hold
			if balance-held < s.Cost {
				// Other requests' expired holds no longer protect anything.
				_, freed, err := w.reclaimAccount(ctx, tx, s.Account, now)
				if err != nil {
					return err
				}
				held -= freed
			}
		}
		charged, shortfall := wallet.Charge(s.Cost, balance-held)
		if charged > 0 || hold > 0 {
			res, err := tx.ExecContext(ctx, `UPDATE wallets SET balance_credits = balance_credits - ?, held_credits = held_credits - ?, updated_at = ?
WHERE account_id = ? AND balance_credits - held_credits + ? >= ?`, charged, hold, now, s.Account, hold, charged)
			if err != nil {
				return fmt.Errorf("debit: %w", err)
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return fmt.Errorf("debit: wallet changed under lock (%d rows, %v)", n, err)
			}
		}
		if err := insertUsage(ctx, tx, s, charged, shortfall, now); err != nil {
			return err
		}
		if err := w.addHourly(ctx, tx, s, charged, now); err != nil {
			return err
		}
		// After the usage record: a replay (errSettled) rolls back before
		// it could raise anything.
		after := balance - charged
		if kind := wallet.DebitAlert(balance, after, wr.period); kind != wallet.NoAlert {
			a := wallet.Alert{Kind: kind, Account: s.Account, PeriodSeq: wr.seq, Balance: after}
			if _, err := RecordAlert(ctx, tx, w.dialect, a, w.topUpURL, now); err != nil {
				return err
			}
			if kind == wallet.AlertExhausted {
				exhausted = &alertPeriod{s.Account, wr.seq}
			}
		}
		result = wallet.SettleResult{Charged: charged, Shortfall: shortfall, Balance: after}
		return nil
	})
	if errors.Is(err, errSettled) {
		return w.firstSettlement(ctx, s)
	}
	if err != nil {
		return wallet.SettleResult{}, fmt.Errorf("walletsql: settle: %w", err)
	}
	if exhausted != nil {
		w.refused.add(exhausted.account, exhausted.seq)
	}
	return result, nil
}

func insertUsage(ctx context.Context, tx *sql.Tx, s wallet.Settlement, charged, shortfall resayil.Credits, now time.Time) error {
	var apiKey sql.NullInt64
	if s.APIKeyID != 0 {
		apiKey = sql.NullInt64{Int64: s.APIKeyID, Valid: true}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO usage_records (request_id, client_request_id, account_id, api_key_id, model, backend,
  prompt_tokens, completion_tokens, total_tokens, credits, shortfall_credits, held_credits, status, latency_ms, ttfb_ms, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.RequestID, s.ClientRequestID, s.Account, apiKey, s.Model, s.Backend,
		s.PromptTokens, s.CompletionTokens, s.TotalTokens, charged, shortfall, s.Held, s.Status,
		s.Latency.Milliseconds(), s.TTFB.Milliseconds(), now)
	if isDuplicate(err) {
		return errSettled
	}
	if err != nil {
		return fmt.Errorf("record usage: %w", err)
	}
	return nil
}

// addHourly adds the usage record just inserted to its usage_hourly row,
// in the same transaction: a replayed settlement inserts no record
// (errSettled rolls the transaction back) and so adds nothing.
func (w *Wallet) addHourly(ctx context.Context, tx *sql.Tx, s wallet.Settlement, charged resayil.Credits, now time.Time) error {
	return usagehourly.WriteOne(ctx, tx, w.dialect, usagehourly.Record{Account: int64(s.Account), APIKeyID: s.APIKeyID,
		Model: s.Model, Backend: s.Backend, Status: s.Status, PromptTokens: int64(s.PromptTokens),
		CompletionTokens: int64(s.CompletionTokens), Credits: int64(charged), CreatedAt: now})
}

// firstSettlement answers a repeated Settle from the usage record the first
// one wrote.
func (w *Wallet) firstSettlement(ctx context.Context, s wallet.Settlement) (wallet.SettleResult, error) {
	res := wallet.SettleResult{Replayed: true}
	var acct resayil.AccountID
	err := w.db.QueryRowContext(ctx, `SELECT account_id, credits, shortfall_credits FROM usage_records WHERE request_id = ?`,
		s.RequestID).Scan(&acct, &res.Charged, &res.Shortfall)
	if err != nil {
		return wallet.SettleResult{}, fmt.Errorf("walletsql: settle: read first settlement: %w", err)
	}
	if acct != s.Account {
		return wallet.SettleResult{}, resayil.Errorf(resayil.ECONFLICT, "The request id %q is already in use.", s.RequestID)
	}
	b, err := w.Balance(ctx, s.Account)
	if err != nil {
		return wallet.SettleResult{}, err
	}
	res.Balance = b.Total
	return res, nil
}
