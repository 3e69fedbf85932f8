package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletsql"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

var _ ledger.Store = (*Store)(nil)

// errGrantExists aborts a RecordGrant whose reference is in the ledger: the
// unique reference (uq_credit_ledger_reference) is what makes a grant apply
// once, so the whole transaction, balance and audit included, rolls back.
var errGrantExists = errors.New("store: grant reference already in the ledger")

// AccountByEmail implements ledger.Store.
func (s *Store) AccountByEmail(ctx context.Context, email string) (ledger.Owner, error) {
	var u struct {
		ID        int64
		AccountID int64
		Email     string
	}
	res := s.conn(ctx).Raw(`SELECT id, account_id, email FROM users WHERE `+byEmail, emailKeyArgs(email)...).Scan(&u)
	if res.Error != nil {
		return ledger.Owner{}, fmt.Errorf("user by e-mail: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ledger.Owner{}, resayil.Errorf(resayil.ENOTFOUND, "No user has the e-mail address %s.", email)
	}
	return ledger.Owner{User: resayil.UserID(u.ID), Account: resayil.AccountID(u.AccountID), Email: u.Email}, nil
}

// AccountByUserID implements ledger.Store.
func (s *Store) AccountByUserID(ctx context.Context, id resayil.UserID) (ledger.Owner, error) {
	var u struct {
		ID        int64
		AccountID int64
		Email     string
	}
	res := s.conn(ctx).Raw(`SELECT id, account_id, email FROM users WHERE id = ?`, int64(id)).Scan(&u)
	if res.Error != nil {
		return ledger.Owner{}, fmt.Errorf("user by id: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ledger.Owner{}, resayil.Errorf(resayil.ENOTFOUND, "No user has the id %d.", id)
	}
	return ledger.Owner{User: resayil.UserID(u.ID), Account: resayil.AccountID(u.AccountID), Email: u.Email}, nil
}

// AccountOwner implements ledger.Store.
func (s *Store) AccountOwner(ctx context.Context, id resayil.AccountID) (ledger.Owner, error) {
	var a struct {
		ID     int64
		UserID *int64
		Email  *string
	}
	res := s.conn(ctx).Raw(`SELECT a.id, u.id AS user_id, u.email FROM accounts a LEFT JOIN users u ON u.account_id = a.id AND a.kind = 'user'
WHERE a.id = ?`, int64(id)).Scan(&a)
	if res.Error != nil {
		return ledger.Owner{}, fmt.Errorf("account by id: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ledger.Owner{}, resayil.Errorf(resayil.ENOTFOUND, "No account has the id %d.", id)
	}
	o := ledger.Owner{Account: resayil.AccountID(a.ID)}
	if a.UserID != nil {
		o.User, o.Email = resayil.UserID(*a.UserID), deref(a.Email)
	}
	return o, nil
}

// RecordDebit implements ledger.Store. The wallet row is locked first
// (forUpdate, as walletsql does), then lowered by a conditional UPDATE
// that only passes while the available balance covers the debit, so a
// concurrent request's hold or debit cannot make it overdraw (invariant 1);
// the CHECK (balance_credits >= 0) is the last guard. The balance alert is
// decided on the locked row (before and after the debit, the period's
// credits and number), as walletsql's settlement decides it.
func (s *Store) RecordDebit(ctx context.Context, d wallet.Grant, live bool, audit ledger.Audit, topUpURL string, now time.Time) error {
	if err := d.Validate(); err != nil {
		return err
	}
	return s.Tx(ctx, func(tx *Store) error {
		var w struct {
			BalanceCredits, HeldCredits, PeriodCredits, PeriodSeq int64
		}
		if err := tx.conn(ctx).Table("wallets").Select("balance_credits, held_credits, period_credits, period_seq").
			Clauses(forUpdate).Where("account_id = ?", int64(d.Account)).Limit(1).Find(&w).Error; err != nil {
			return fmt.Errorf("lock wallet: %w", err)
		}
		// Raw SQL on purpose: the guard and its row count are what keep the
		// balance from going below zero under concurrent holds and debits.
		res := tx.conn(ctx).Exec(`UPDATE wallets SET balance_credits = balance_credits - ?, updated_at = ?
WHERE account_id = ? AND balance_credits - held_credits >= ?`, int64(d.Amount), now, int64(d.Account), int64(d.Amount))
		if res.Error != nil {
			return fmt.Errorf("debit wallet: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return wallet.Insufficient(resayil.Credits(max(w.BalanceCredits-w.HeldCredits, 0)), d.Amount)
		}
		var liveAt, actor any
		if live {
			liveAt = now
		}
		if d.ActorUserID != 0 {
			actor = int64(d.ActorUserID)
		}
		err := tx.conn(ctx).Exec(`INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, reason, actor_user_id, live_applied_at, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, int64(d.Account), d.Reference, d.LedgerKind(), -int64(d.Amount), d.Reason, actor, liveAt, now).Error
		if IsDuplicate(err) {
			return resayil.Errorf(resayil.ECONFLICT, "The ledger reference %s is already in use.", d.Reference)
		}
		if err != nil {
			return fmt.Errorf("record debit %s: %w", d.Reference, err)
		}
		before := resayil.Credits(w.BalanceCredits)
		after := before - d.Amount
		if kind := wallet.DebitAlert(before, after, resayil.Credits(w.PeriodCredits)); kind != wallet.NoAlert {
			a := wallet.Alert{Kind: kind, Account: d.Account, PeriodSeq: w.PeriodSeq, Balance: after}
			if _, err := walletsql.RecordAlert(ctx, tx.conn(ctx).Statement.ConnPool, tx.dialect, a, topUpURL, now); err != nil {
				return err
			}
		}
		a := audit
		if a.Balance {
			a = withBalance(a, before, after)
		}
		return tx.insertAudit(ctx, a, now)
	})
}

// PlanByCode implements ledger.Store.
func (s *Store) PlanByCode(ctx context.Context, code resayil.TierCode) (ledger.Plan, error) {
	var p struct {
		ID           int64
		Code         string
		Name         string
		Credits      int64
		DurationDays int
	}
	res := s.conn(ctx).Raw(`SELECT id, code, name, credits, duration_days FROM subscription_plans WHERE code = ?`, string(code)).Scan(&p)
	if res.Error != nil {
		return ledger.Plan{}, fmt.Errorf("plan by code: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ledger.Plan{}, resayil.Errorf(resayil.ENOTFOUND, "There is no plan %q.", code)
	}
	return ledger.Plan{ID: p.ID, Code: resayil.TierCode(p.Code), Name: p.Name, Credits: resayil.Credits(p.Credits), DurationDays: p.DurationDays}, nil
}

// RecordGrant implements ledger.Store.
func (s *Store) RecordGrant(ctx context.Context, g wallet.Grant, live bool, audit ledger.Audit, now time.Time) (bool, error) {
	if err := g.Validate(); err != nil {
		return false, err
	}
	err := s.Tx(ctx, func(tx *Store) error {
		if err := tx.insertGrant(ctx, g, live, now); err != nil {
			return err
		}
		a := audit
		if a.Balance {
			// Read after the grant, on the row the grant has locked.
			after, err := tx.durableBalance(ctx, g.Account)
			if err != nil {
				return err
			}
			a = withBalance(a, after-g.Amount, after)
		}
		return tx.insertAudit(ctx, a, now)
	})
	if errors.Is(err, errGrantExists) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// insertGrant writes the ledger row and adds the grant to the durable
// balance, in the caller's transaction, with walletsql.CreditTx: the one
// path of a grant's durable part, shared with the embedded wallet. A
// reference already in the ledger returns errGrantExists, before any balance
// changes.
func (s *Store) insertGrant(ctx context.Context, g wallet.Grant, live bool, now time.Time) error {
	applied, err := walletsql.CreditTx(ctx, s.conn(ctx).Statement.ConnPool, s.dialect, g, live, now)
	if err != nil {
		return err
	}
	if !applied {
		return errGrantExists
	}
	return nil
}

// ChangePlan implements ledger.Store.
func (s *Store) ChangePlan(ctx context.Context, c ledger.PlanChange, live bool, audit func(ledger.PlanChanged) ledger.Audit, now time.Time) (ledger.PlanChanged, error) {
	var out ledger.PlanChanged
	err := s.Tx(ctx, func(tx *Store) error {
		out = ledger.PlanChanged{}
		ended, err := tx.endActiveSubscriptions(ctx, c.Account, now)
		if err != nil {
			return err
		}
		out.Ended = ended
		if out.Previous, err = tx.latestOf(ctx, ended); err != nil {
			return err
		}
		if c.Plan != nil {
			row := subscriptionRow{AccountID: int64(c.Account), PlanID: c.Plan.ID, Status: resayil.SubscriptionActive, Source: resayil.SubscriptionFromOperator,
				StartsAt: c.StartsAt, ExpiresAt: c.ExpiresAt, CreatedAt: now, UpdatedAt: now}
			if err := tx.conn(ctx).Create(&row).Error; err != nil {
				return fmt.Errorf("insert subscription: %w", err)
			}
			out.Subscription = &ledger.Subscription{ID: row.ID, Account: c.Account, Plan: *c.Plan, Status: row.Status,
				Source: row.Source, StartsAt: row.StartsAt, ExpiresAt: row.ExpiresAt}
			if c.Grant {
				g := wallet.Grant{Reference: ledger.SubscriptionReference(row.ID), Account: c.Account, Amount: c.Plan.Credits,
					Kind: ledger.KindSubscription, Reason: c.Reason}
				if err := tx.insertGrant(ctx, g, live, now); err != nil {
					return err
				}
				out.Grant = &g
			}
		}
		if out.Balance, err = tx.durableBalance(ctx, c.Account); err != nil {
			return err
		}
		return tx.insertAudit(ctx, audit(out), now)
	})
	if err != nil {
		return ledger.PlanChanged{}, err
	}
	return out, nil
}

// MarkLive implements ledger.Store.
func (s *Store) MarkLive(ctx context.Context, reference string, now time.Time) error {
	if err := s.conn(ctx).Exec(`UPDATE credit_ledger SET live_applied_at = ? WHERE reference = ? AND live_applied_at IS NULL`,
		now, reference).Error; err != nil {
		return fmt.Errorf("mark grant live: %w", err)
	}
	return nil
}

// PendingLive implements ledger.Store (ix_credit_ledger_live).
func (s *Store) PendingLive(ctx context.Context, createdBefore time.Time, afterID int64, limit int) ([]ledger.Entry, error) {
	rows, err := s.conn(ctx).Raw(`SELECT id, reference, account_id, kind, amount_credits, created_at FROM credit_ledger
WHERE live_applied_at IS NULL AND created_at <= ? AND id > ? ORDER BY id LIMIT ?`, createdBefore, afterID, limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("pending grants: %w", err)
	}
	defer rows.Close()
	var out []ledger.Entry
	for rows.Next() {
		var e ledger.Entry
		if err := rows.Scan(&e.ID, &e.Reference, &e.Account, &e.Kind, &e.Amount, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("pending grants: %w", err)
		}
		e.CreatedAt = e.CreatedAt.UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending grants: %w", err)
	}
	return out, nil
}

// AccountTotals implements ledger.Store. Each row is one statement's
// snapshot, so a grant or a usage flush committing meanwhile is either
// wholly in an account's numbers or not at all.
func (s *Store) AccountTotals(ctx context.Context, after resayil.AccountID, limit int) ([]ledger.Totals, error) {
	rows, err := s.conn(ctx).Raw(`SELECT a.id,
  COALESCE(w.balance_credits, 0),
  COALESCE((SELECT SUM(l.amount_credits) FROM credit_ledger l WHERE l.account_id = a.id), 0),
  COALESCE((SELECT SUM(u.credits) FROM usage_records u WHERE u.account_id = a.id), 0),
  COALESCE((SELECT SUM(l.amount_credits) FROM credit_ledger l WHERE l.account_id = a.id AND l.live_applied_at IS NULL), 0)
FROM accounts a LEFT JOIN wallets w ON w.account_id = a.id
WHERE a.id > ? ORDER BY a.id LIMIT ?`, int64(after), limit).Rows()
	if err != nil {
		return nil, fmt.Errorf("account totals: %w", err)
	}
	defer rows.Close()
	var out []ledger.Totals
	for rows.Next() {
		var t ledger.Totals
		// MySQL returns SUM as DECIMAL; database/sql converts its text.
		var bal, grants, debits, notLive sql.NullInt64
		if err := rows.Scan(&t.Account, &bal, &grants, &debits, &notLive); err != nil {
			return nil, fmt.Errorf("account totals: %w", err)
		}
		t.Balance, t.Grants = resayil.Credits(bal.Int64), resayil.Credits(grants.Int64)
		t.Debits, t.NotLive = resayil.Credits(debits.Int64), resayil.Credits(notLive.Int64)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account totals: %w", err)
	}
	return out, nil
}

// RecordedUsage implements ledger.Store (uq_usage_request_id).
func (s *Store) RecordedUsage(ctx context.Context, requestIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(requestIDs))
	if len(requestIDs) == 0 {
		return out, nil
	}
	var found []string
	if err := s.conn(ctx).Raw(`SELECT request_id FROM usage_records WHERE request_id IN ?`, requestIDs).Scan(&found).Error; err != nil {
		return nil, fmt.Errorf("recorded usage: %w", err)
	}
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}
