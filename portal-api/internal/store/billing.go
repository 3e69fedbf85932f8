package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/billing"
)

// BillingStore is the billing.Store of a Store. It is a type of its own so
// that billing's method names cannot collide with other features' on Store.
type BillingStore struct{ s *Store }

var _ billing.Store = (*BillingStore)(nil)

// Billing returns the billing.Store on s.
func (s *Store) Billing() *BillingStore { return &BillingStore{s: s} }

type paymentRow struct {
	ID                int64 `gorm:"primaryKey"`
	Reference         string
	AccountID         int64
	UserID            int64
	Kind              string
	PlanID            *int64
	PackID            *int64
	AmountFils        int64
	Currency          string
	Credits           int64
	Status            string
	Provider          string
	InvoiceID         *string
	ProviderPaymentID *string
	PaymentURL        string
	FailureReason     string
	ExpiresAt         time.Time
	PaidAt            *time.Time
	StatusCheckedAt   *time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

func (paymentRow) TableName() string { return "payments" }

const paymentColumns = `id, reference, account_id, user_id, kind, plan_id, pack_id, amount_fils, currency, credits, status, provider,
  invoice_id, provider_payment_id, payment_url, failure_reason, expires_at, paid_at, status_checked_at, created_at, updated_at`

func (r paymentRow) toDomain() billing.Payment {
	p := billing.Payment{
		ID: billing.PaymentID(r.ID), Reference: r.Reference, Account: resayil.AccountID(r.AccountID), User: resayil.UserID(r.UserID),
		Kind: billing.PaymentKind(r.Kind), Amount: resayil.Fils(r.AmountFils), Currency: r.Currency, Credits: resayil.Credits(r.Credits),
		Status: billing.PaymentStatus(r.Status), PaymentURL: r.PaymentURL, FailureReason: r.FailureReason,
		ExpiresAt: r.ExpiresAt.UTC(), PaidAt: utcPtr(r.PaidAt), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.PlanID != nil {
		p.PlanID = *r.PlanID
	}
	if r.PackID != nil {
		p.PackID = *r.PackID
	}
	if r.InvoiceID != nil {
		p.InvoiceID = *r.InvoiceID
	}
	if r.ProviderPaymentID != nil {
		p.ProviderPaymentID = *r.ProviderPaymentID
	}
	return p
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (r planRow) toBilling() billing.Plan {
	p := billing.Plan{
		ID: r.ID, Code: resayil.TierCode(r.Code), Name: r.Name, Price: resayil.Fils(r.PriceFils), Credits: resayil.Credits(r.Credits),
		DurationDays: r.DurationDays, RateLimitPerMinute: r.RateLimitPerMinute, CloudAllowed: r.CloudAllowed,
		EnterpriseModels: r.EnterpriseModels, TeamsAllowed: r.TeamsAllowed, QueuePriority: r.QueuePriority,
		Active: r.Active, SortOrder: r.SortOrder, ModelClasses: []resayil.ModelClass{}, Features: []string{},
	}
	for _, c := range strings.Split(r.ModelClasses, ",") {
		if c = strings.TrimSpace(c); c != "" {
			p.ModelClasses = append(p.ModelClasses, resayil.ModelClass(c))
		}
	}
	if err := json.Unmarshal([]byte(r.Features), &p.Features); err != nil || p.Features == nil {
		// An operator's plain-text edit is one feature, not an error.
		p.Features = []string{}
		if f := strings.TrimSpace(r.Features); f != "" {
			p.Features = []string{f}
		}
	}
	return p
}

func (r packRow) toBilling() billing.Pack {
	return billing.Pack{ID: r.ID, Code: r.Code, Name: r.Name, Credits: resayil.Credits(r.Credits), Price: resayil.Fils(r.PriceFils),
		Active: r.Active, SortOrder: r.SortOrder}
}

// Plans implements billing.Store.
func (b *BillingStore) Plans(ctx context.Context, onlyActive bool) ([]billing.Plan, error) {
	q := b.s.conn(ctx).Order("sort_order, id")
	if onlyActive {
		q = q.Where("active = ?", true)
	}
	var rows []planRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list plans: %w", err)
	}
	out := make([]billing.Plan, len(rows))
	for i, r := range rows {
		out[i] = r.toBilling()
	}
	return out, nil
}

// Packs implements billing.Store.
func (b *BillingStore) Packs(ctx context.Context, onlyActive bool) ([]billing.Pack, error) {
	q := b.s.conn(ctx).Order("sort_order, id")
	if onlyActive {
		q = q.Where("active = ?", true)
	}
	var rows []packRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list top-up packs: %w", err)
	}
	out := make([]billing.Pack, len(rows))
	for i, r := range rows {
		out[i] = r.toBilling()
	}
	return out, nil
}

// Plan implements billing.Store.
func (b *BillingStore) Plan(ctx context.Context, id int64) (billing.Plan, error) {
	return planByID(ctx, b.s, id)
}

func planByID(ctx context.Context, s *Store, id int64) (billing.Plan, error) {
	var r planRow
	err := s.conn(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return billing.Plan{}, resayil.Errorf(resayil.ENOTFOUND, "There is no plan %d.", id)
	}
	if err != nil {
		return billing.Plan{}, fmt.Errorf("plan %d: %w", id, err)
	}
	return r.toBilling(), nil
}

// Pack implements billing.Store.
func (b *BillingStore) Pack(ctx context.Context, id int64) (billing.Pack, error) {
	var r packRow
	err := b.s.conn(ctx).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return billing.Pack{}, resayil.Errorf(resayil.ENOTFOUND, "There is no top-up pack %d.", id)
	}
	if err != nil {
		return billing.Pack{}, fmt.Errorf("pack %d: %w", id, err)
	}
	return r.toBilling(), nil
}

// insertPayment inserts a payment row and returns it with its id.
func insertPayment(ctx context.Context, s *Store, p billing.Payment) (billing.Payment, error) {
	r := paymentRow{
		Reference: p.Reference, AccountID: int64(p.Account), UserID: int64(p.User), Kind: string(p.Kind),
		AmountFils: int64(p.Amount), Currency: p.Currency, Credits: int64(p.Credits), Status: string(p.Status), Provider: "myfatoorah",
		ExpiresAt: p.ExpiresAt, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
	}
	if p.PlanID != 0 {
		r.PlanID = &p.PlanID
	}
	if p.PackID != 0 {
		r.PackID = &p.PackID
	}
	if err := s.conn(ctx).Create(&r).Error; err != nil {
		return billing.Payment{}, fmt.Errorf("insert payment: %w", err)
	}
	return r.toDomain(), nil
}

// SetInvoice implements billing.Store.
func (b *BillingStore) SetInvoice(ctx context.Context, id billing.PaymentID, inv billing.Invoice, now time.Time) error {
	if err := b.s.conn(ctx).Exec(`UPDATE payments SET invoice_id = ?, payment_url = ?, updated_at = ? WHERE id = ?`,
		inv.ID, inv.URL, now, int64(id)).Error; err != nil {
		return fmt.Errorf("record invoice %s of payment %d: %w", inv.ID, id, err)
	}
	return nil
}

// paymentWhere reads the one payment that scope selects.
func paymentWhere(ctx context.Context, s *Store, scope func(*gorm.DB) *gorm.DB) (billing.Payment, error) {
	var rows []paymentRow
	if err := scope(s.conn(ctx).Model(&paymentRow{})).Limit(1).Find(&rows).Error; err != nil {
		return billing.Payment{}, fmt.Errorf("read payment: %w", err)
	}
	if len(rows) == 0 {
		return billing.Payment{}, resayil.Errorf(resayil.ENOTFOUND, "The payment does not exist.")
	}
	return rows[0].toDomain(), nil
}

// where is a scope of one condition.
func where(query string, args ...any) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB { return q.Where(query, args...) }
}

// Payment implements billing.Store.
func (b *BillingStore) Payment(ctx context.Context, id billing.PaymentID) (billing.Payment, error) {
	return paymentWhere(ctx, b.s, where("id = ?", int64(id)))
}

// PaymentByReference implements billing.Store (uq_payment_reference).
func (b *BillingStore) PaymentByReference(ctx context.Context, reference string) (billing.Payment, error) {
	return paymentWhere(ctx, b.s, where("reference = ?", reference))
}

// PaymentByInvoice implements billing.Store (uq_payment_invoice_id).
func (b *BillingStore) PaymentByInvoice(ctx context.Context, invoiceID string) (billing.Payment, error) {
	return paymentWhere(ctx, b.s, where("invoice_id = ?", invoiceID))
}

// PaymentByProviderPayment implements billing.Store.
func (b *BillingStore) PaymentByProviderPayment(ctx context.Context, providerPaymentID string) (billing.Payment, error) {
	return paymentWhere(ctx, b.s, func(q *gorm.DB) *gorm.DB {
		return q.Where("provider_payment_id = ?", providerPaymentID).Order("id DESC")
	})
}

// Payments implements billing.Store (ix_payments_account).
func (b *BillingStore) Payments(ctx context.Context, account resayil.AccountID, before billing.PaymentID, limit int) ([]billing.Payment, error) {
	q := `SELECT ` + paymentColumns + ` FROM payments WHERE account_id = ?`
	args := []any{int64(account)}
	if before > 0 {
		q += ` AND id < ?`
		args = append(args, int64(before))
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	var rows []paymentRow
	if err := b.s.conn(ctx).Raw(q, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("list payments: %w", err)
	}
	out := make([]billing.Payment, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// PendingPayments implements billing.Store (ix_payments_status).
func (b *BillingStore) PendingPayments(ctx context.Context, createdBefore, checkedBefore time.Time, limit int) ([]billing.Payment, error) {
	var rows []paymentRow
	err := b.s.conn(ctx).Raw(`SELECT `+paymentColumns+` FROM payments
WHERE status = ? AND created_at <= ? AND (status_checked_at IS NULL OR status_checked_at <= ?)
ORDER BY created_at, id LIMIT ?`, string(billing.StatusPending), createdBefore, checkedBefore, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("pending payments: %w", err)
	}
	out := make([]billing.Payment, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// ClaimStatusCheck implements billing.Store: one conditional UPDATE, whose
// affected-row count says which replica claimed the row (raw SQL on
// purpose: the count is the exactly-once rule).
func (b *BillingStore) ClaimStatusCheck(ctx context.Context, id billing.PaymentID, checkedBefore, now time.Time) (bool, error) {
	res := b.s.conn(ctx).Exec(`UPDATE payments SET status_checked_at = ? WHERE id = ? AND status = ?
AND (status_checked_at IS NULL OR status_checked_at <= ?)`, now, int64(id), string(billing.StatusPending), checkedBefore)
	if res.Error != nil {
		return false, fmt.Errorf("claim payment %d: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// subscriptionPlanRow is a subscription joined with its plan (p_ columns).
type subscriptionPlanRow struct {
	ID                  int64
	AccountID           int64
	PlanID              int64
	Status              resayil.SubscriptionStatus
	Source              resayil.SubscriptionSource
	PaymentID           *int64
	StartsAt            time.Time
	ExpiresAt           time.Time
	EndedAt             *time.Time
	PCode               string
	PName               string
	PPriceFils          int64
	PCredits            int64
	PDurationDays       int
	PRateLimitPerMinute int
	PModelClasses       string
	PCloudAllowed       bool
	PEnterpriseModels   bool
	PTeamsAllowed       bool
	PQueuePriority      int
	PFeatures           string
	PActive             bool
	PSortOrder          int
}

const subscriptionPlanColumns = `s.id, s.account_id, s.plan_id, s.status, s.source, s.payment_id, s.starts_at, s.expires_at, s.ended_at,
  p.code AS p_code, p.name AS p_name, p.price_fils AS p_price_fils, p.credits AS p_credits,
  p.duration_days AS p_duration_days, p.rate_limit_per_minute AS p_rate_limit_per_minute, p.model_classes AS p_model_classes,
  p.cloud_allowed AS p_cloud_allowed, p.enterprise_models AS p_enterprise_models, p.teams_allowed AS p_teams_allowed,
  p.queue_priority AS p_queue_priority, p.features AS p_features, p.active AS p_active, p.sort_order AS p_sort_order`

func (r subscriptionPlanRow) toBilling() billing.Subscription {
	plan := planRow{ID: r.PlanID, Code: r.PCode, Name: r.PName, PriceFils: r.PPriceFils, Credits: r.PCredits,
		DurationDays: r.PDurationDays, RateLimitPerMinute: r.PRateLimitPerMinute, ModelClasses: r.PModelClasses,
		CloudAllowed: r.PCloudAllowed, EnterpriseModels: r.PEnterpriseModels, TeamsAllowed: r.PTeamsAllowed,
		QueuePriority: r.PQueuePriority, Features: r.PFeatures, Active: r.PActive, SortOrder: r.PSortOrder}
	s := billing.Subscription{
		ID: r.ID, Account: resayil.AccountID(r.AccountID), Plan: plan.toBilling(), Status: r.Status, Source: r.Source,
		StartsAt: r.StartsAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), EndedAt: utcPtr(r.EndedAt),
	}
	if r.PaymentID != nil {
		s.PaymentID = billing.PaymentID(*r.PaymentID)
	}
	return s
}

// subscriptions reads the subscriptions that scope selects (columns of
// subscriptions s and subscription_plans p), with their plans.
func subscriptions(ctx context.Context, s *Store, scope func(*gorm.DB) *gorm.DB) ([]billing.Subscription, error) {
	var rows []subscriptionPlanRow
	q := s.conn(ctx).Table("subscriptions s").Select(subscriptionPlanColumns).Joins("JOIN subscription_plans p ON p.id = s.plan_id")
	if err := scope(q).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read subscriptions: %w", err)
	}
	out := make([]billing.Subscription, len(rows))
	for i, r := range rows {
		out[i] = r.toBilling()
	}
	return out, nil
}

// activeSubscription selects the account's active subscription (one at
// most; the newest should there ever be more).
func activeSubscription(account resayil.AccountID) func(*gorm.DB) *gorm.DB {
	return func(q *gorm.DB) *gorm.DB {
		return q.Where("s.account_id = ? AND s.status = ?", int64(account), resayil.SubscriptionActive).Order("s.id DESC").Limit(1)
	}
}

func first(subs []billing.Subscription, err error) (*billing.Subscription, error) {
	if err != nil || len(subs) == 0 {
		return nil, err
	}
	return &subs[0], nil
}

// ActiveSubscription implements billing.Store (ix_subscriptions_account).
func (b *BillingStore) ActiveSubscription(ctx context.Context, account resayil.AccountID) (*billing.Subscription, error) {
	return first(subscriptions(ctx, b.s, activeSubscription(account)))
}

// LastSubscription implements billing.Store.
func (b *BillingStore) LastSubscription(ctx context.Context, account resayil.AccountID) (*billing.Subscription, error) {
	return first(subscriptions(ctx, b.s, func(q *gorm.DB) *gorm.DB {
		return q.Where("s.account_id = ?", int64(account)).Order("s.id DESC").Limit(1)
	}))
}

// DueSubscriptions implements billing.Store (ix_subscriptions_expiry).
func (b *BillingStore) DueSubscriptions(ctx context.Context, now time.Time, limit int) ([]billing.Subscription, error) {
	return subscriptions(ctx, b.s, func(q *gorm.DB) *gorm.DB {
		return q.Where("s.status = ? AND s.expires_at <= ?", resayil.SubscriptionActive, now).Order("s.expires_at, s.id").Limit(limit)
	})
}

// EndSubscription implements billing.Store.
func (b *BillingStore) EndSubscription(ctx context.Context, id int64, now time.Time) (bool, error) {
	n, err := b.s.endSubscriptions(ctx, now, id)
	return n == 1, err
}

// RemindableSubscriptions implements billing.Store (ix_subscriptions_expiry).
func (b *BillingStore) RemindableSubscriptions(ctx context.Context, now, until time.Time, limit int) ([]billing.Subscription, error) {
	return subscriptions(ctx, b.s, func(q *gorm.DB) *gorm.DB {
		return q.Where("s.status = ? AND s.expires_at > ? AND s.expires_at < ? AND s.reminder_sent_at IS NULL",
			resayil.SubscriptionActive, now, until).Order("s.expires_at, s.id").Limit(limit)
	})
}

// InTx implements billing.Store with Store.Tx: fn runs in one transaction,
// again from the start when the transaction lost to another (a MySQL
// deadlock or lock wait timeout, SQLite busy or locked; see
// database.Retryable), so it must reset what it captures.
func (b *BillingStore) InTx(ctx context.Context, fn func(billing.Tx) error) error {
	return b.s.Tx(ctx, func(tx *Store) error { return fn(billingTx{s: tx}) })
}
