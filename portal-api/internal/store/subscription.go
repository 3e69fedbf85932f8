package store

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

type subscriptionRow struct {
	ID             int64 `gorm:"primaryKey"`
	AccountID      int64
	PlanID         int64
	Status         resayil.SubscriptionStatus
	Source         resayil.SubscriptionSource
	PaymentID      *int64
	StartsAt       time.Time
	ExpiresAt      time.Time
	EndedAt        *time.Time
	ReminderSentAt *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (subscriptionRow) TableName() string { return "subscriptions" }

// endActiveSubscriptions ends every active subscription of the account in
// the caller's transaction and returns their ids (empty, not nil, when there
// were none): a new subscription, bought or set by an operator, always
// starts from none. The rows are locked first (SQLite's immediate
// transaction already holds the write lock), so the ids returned are the
// rows this transaction ended.
func (s *Store) endActiveSubscriptions(ctx context.Context, account resayil.AccountID, now time.Time) ([]int64, error) {
	ids := []int64{}
	if err := s.conn(ctx).Model(&subscriptionRow{}).Clauses(forUpdate).
		Where("account_id = ? AND status = ?", int64(account), resayil.SubscriptionActive).Order("id").
		Pluck("id", &ids).Error; err != nil {
		return nil, fmt.Errorf("find active subscriptions: %w", err)
	}
	if len(ids) == 0 {
		return ids, nil
	}
	if _, err := s.endSubscriptions(ctx, now, ids...); err != nil {
		return nil, err
	}
	return ids, nil
}

// endSubscriptions ends those of the subscriptions that are still active
// and returns how many it ended: the one statement that ends a
// subscription. It stays raw SQL on purpose: the guard (AND status =
// active) and its affected-row count are what let a subscription end once,
// when the expiry job runs on every replica
// (docs/adr/0006-billing-exactly-once.md, "Jobs claim rows").
func (s *Store) endSubscriptions(ctx context.Context, now time.Time, ids ...int64) (int64, error) {
	res := s.conn(ctx).Exec(`UPDATE subscriptions SET status = ?, ended_at = ?, updated_at = ? WHERE id IN ? AND status = ?`,
		resayil.SubscriptionEnded, now, now, ids, resayil.SubscriptionActive)
	if res.Error != nil {
		return 0, fmt.Errorf("end subscriptions %v: %w", ids, res.Error)
	}
	return res.RowsAffected, nil
}
