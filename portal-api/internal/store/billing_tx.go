package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/portal-api/internal/billing"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// billingTx is billing.Tx on a Store bound to one transaction.
type billingTx struct{ s *Store }

var _ billing.Tx = billingTx{}

// forUpdate and forShare lock the rows a read returns until the
// transaction ends (SELECT … FOR UPDATE, LOCK IN SHARE MODE on MariaDB). The
// SQLite dialect drops them: SQLite has no row locks, and the immediate
// transaction (package database sets _txlock) already holds the database's
// write lock from BEGIN.
var (
	forUpdate = clause.Locking{Strength: clause.LockingStrengthUpdate}
	forShare  = clause.Locking{Strength: clause.LockingStrengthShare}
)

// LockPayment implements billing.Tx (forUpdate).
func (t billingTx) LockPayment(ctx context.Context, id billing.PaymentID) (billing.Payment, error) {
	return paymentWhere(ctx, t.s, func(q *gorm.DB) *gorm.DB { return q.Where("id = ?", int64(id)).Clauses(forUpdate) })
}

// OpenCheckouts implements billing.Tx (ix_payments_account). It is a plain
// read: the caller holds the account's lock (LockAccount), and InnoDB takes
// a transaction's snapshot at its first plain read, which comes after that
// lock, so it sees every checkout committed by the lock's previous holder.
// No payment row is locked, so apply (which locks a payment, then its
// account) cannot deadlock with a checkout.
func (t billingTx) OpenCheckouts(ctx context.Context, account resayil.AccountID, now time.Time) ([]billing.Payment, error) {
	var rows []paymentRow
	err := t.s.conn(ctx).Raw(`SELECT `+paymentColumns+` FROM payments
WHERE account_id = ? AND status = ? AND expires_at > ? ORDER BY created_at, id`,
		int64(account), string(billing.StatusPending), now).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("open checkouts of account %d: %w", account, err)
	}
	out := make([]billing.Payment, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// CreatePayment implements billing.Tx.
func (t billingTx) CreatePayment(ctx context.Context, p billing.Payment) (billing.Payment, error) {
	return insertPayment(ctx, t.s, p)
}

// SetPaymentStatus implements billing.Tx with one conditional UPDATE, raw
// SQL on purpose: its affected-row count decides which caller credits a
// paid payment, once (docs/adr/0006-billing-exactly-once.md).
func (t billingTx) SetPaymentStatus(ctx context.Context, id billing.PaymentID, from []billing.PaymentStatus, c billing.StatusChange) (bool, error) {
	set := []string{"status = ?", "updated_at = ?"}
	args := []any{string(c.Status), c.Now}
	if c.ProviderPaymentID != "" {
		set, args = append(set, "provider_payment_id = ?"), append(args, c.ProviderPaymentID)
	}
	if c.FailureReason != "" {
		set, args = append(set, "failure_reason = ?"), append(args, c.FailureReason)
	}
	if c.PaidAt != nil {
		set, args = append(set, "paid_at = ?"), append(args, *c.PaidAt)
	}
	statuses := make([]string, len(from))
	for i, s := range from {
		statuses[i] = string(s)
	}
	args = append(args, int64(id), statuses)
	res := t.s.conn(ctx).Exec(`UPDATE payments SET `+strings.Join(set, ", ")+` WHERE id = ? AND status IN ?`, args...)
	if res.Error != nil {
		return false, fmt.Errorf("set payment %d %s: %w", id, c.Status, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// LockAccount implements billing.Tx (forUpdate).
func (t billingTx) LockAccount(ctx context.Context, account resayil.AccountID) error {
	var row accountRow
	if err := t.s.conn(ctx).Clauses(forUpdate).Select("id").Where("id = ?", int64(account)).Limit(1).Find(&row).Error; err != nil {
		return fmt.Errorf("lock account %d: %w", account, err)
	}
	return nil
}

// ActiveSubscription implements billing.Tx. On MySQL the read is a locking
// one (it sees the latest committed rows, not the transaction's snapshot);
// a shared lock (forShare), so plan rows are not locked exclusively.
func (t billingTx) ActiveSubscription(ctx context.Context, account resayil.AccountID) (*billing.Subscription, error) {
	return first(subscriptions(ctx, t.s, func(q *gorm.DB) *gorm.DB { return activeSubscription(account)(q).Clauses(forShare) }))
}

// Plan implements billing.Tx.
func (t billingTx) Plan(ctx context.Context, id int64) (billing.Plan, error) {
	return planByID(ctx, t.s, id)
}

// EndSubscriptions implements billing.Tx.
func (t billingTx) EndSubscriptions(ctx context.Context, account resayil.AccountID, now time.Time) ([]int64, error) {
	return t.s.endActiveSubscriptions(ctx, account, now)
}

// StartSubscription implements billing.Tx (uq_subscriptions_payment).
func (t billingTx) StartSubscription(ctx context.Context, sub billing.Subscription, now time.Time) (int64, error) {
	pid := int64(sub.PaymentID)
	row := subscriptionRow{AccountID: int64(sub.Account), PlanID: sub.Plan.ID, Status: resayil.SubscriptionActive, Source: resayil.SubscriptionFromPayment,
		PaymentID: &pid, StartsAt: sub.StartsAt, ExpiresAt: sub.ExpiresAt, CreatedAt: now, UpdatedAt: now}
	if err := t.s.conn(ctx).Create(&row).Error; err != nil {
		return 0, fmt.Errorf("insert subscription of payment %d: %w", pid, err)
	}
	return row.ID, nil
}

// Grant implements billing.Tx with the one grant path (insertGrant,
// walletsql.CreditTx): the credit_ledger row (uq_credit_ledger_reference)
// first, then the durable balance. A reference already granted changes
// nothing and answers false.
func (t billingTx) Grant(ctx context.Context, g wallet.Grant, live bool, now time.Time) (bool, error) {
	err := t.s.insertGrant(ctx, g, live, now)
	if errors.Is(err, errGrantExists) {
		return false, nil
	}
	return err == nil, err
}

// DurableBalance implements billing.Tx.
func (t billingTx) DurableBalance(ctx context.Context, account resayil.AccountID) (resayil.Credits, error) {
	var bal sql.NullInt64
	if err := t.s.conn(ctx).Raw(`SELECT balance_credits FROM wallets WHERE account_id = ?`, int64(account)).Scan(&bal).Error; err != nil {
		return 0, fmt.Errorf("read balance: %w", err)
	}
	return resayil.Credits(bal.Int64), nil
}

// MarkReminded implements billing.Tx. Raw SQL on purpose: the affected-row
// count says which replica sends the reminder, once.
func (t billingTx) MarkReminded(ctx context.Context, subscription int64, now time.Time) (bool, error) {
	res := t.s.conn(ctx).Exec(`UPDATE subscriptions SET reminder_sent_at = ?, updated_at = ? WHERE id = ? AND status = ? AND reminder_sent_at IS NULL`,
		now, now, subscription, resayil.SubscriptionActive)
	if res.Error != nil {
		return false, fmt.Errorf("mark subscription %d reminded: %w", subscription, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Notify implements billing.Tx (uq_notifications_dedupe). The recipient's
// locale is the user's; a notification for an account names its user.
func (t billingTx) Notify(ctx context.Context, n billing.Notification, now time.Time) (bool, error) {
	return insertNotification(ctx, t.s, outboxEntry{DedupeKey: n.DedupeKey, Event: n.Event, Audience: n.Audience,
		Account: n.Account, User: n.User, Params: n.Params, Data: n.Data}, now)
}

// Contact implements billing.Tx.
func (t billingTx) Contact(ctx context.Context, user resayil.UserID) (billing.Contact, error) {
	var row userRow
	err := t.s.conn(ctx).Select("name", "email").Where("id = ?", int64(user)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return billing.Contact{}, errUserNotFound
	}
	if err != nil {
		return billing.Contact{}, fmt.Errorf("contact of user %d: %w", user, err)
	}
	return billing.Contact{Name: row.Name, Email: row.Email}, nil
}

// Audit implements billing.Tx.
func (t billingTx) Audit(ctx context.Context, a billing.Audit, now time.Time) error {
	return t.s.insertAudit(ctx, ledger.Audit{Actor: a.Actor, ActorUserID: a.ActorUserID, IP: a.IP, Action: a.Action, TargetType: a.TargetType, TargetID: a.TargetID, Details: a.Details}, now)
}
