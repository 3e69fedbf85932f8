// Package billing sells plans and top-up packs through MyFatoorah (KWD) and
// credits each paid payment exactly once (invariants 2 and 3 and the
// subscription rules, docs/architecture.md "The invariants, and the test
// that holds each" and "Credits and holds"; ADR 6).
//
// # A payment's life
//
// Checkout writes a pending payments row first (our own reference, amount
// in fils, KWD), then asks the PaymentGateway for an invoice carrying that
// reference; a gateway that is down or refuses marks the row failed. The
// payment then becomes paid only through apply, fed by what
// GetPaymentStatus says, whoever asked: the browser's return from the
// payment page, a signed webhook, or the reconciliation job. The browser's
// word, and a webhook's body, are never trusted; they only say whom to ask.
//
// # Exactly once
//
// apply is one function and one database transaction. It locks the payment
// row (SELECT … FOR UPDATE on MySQL; SQLite's immediate transactions take
// the write lock at BEGIN) and moves the row from pending, failed or expired
// to paid with a conditional UPDATE: the affected-row count decides which of
// any number of concurrent callers applies, and only that one writes the
// subscription, the ledger grant (reference payment:<id>, unique), the
// outbox events and the audit row, in the same transaction. Every other
// caller finds the row already paid and changes nothing. The ledger's
// unique reference and the unique subscriptions.payment_id are a second
// and third line: were the status check ever bypassed, the duplicate insert
// would roll the whole transaction back.
//
// After the commit, in Redis mode, the grant is applied to the live wallet
// once by its reference (walletredis remembers applied references); if that
// fails, the ledger's reconciler retries it. A plan change is announced to
// the gateways (plan_changed) after the commit, so a gateway that re-reads
// finds the new subscription.
//
// A payment MyFatoorah reports as paid but whose amount, currency, invoice
// or reference does not match our record is never credited: it becomes
// needs_review and an admin alert goes into the outbox. An admin then
// credits it (Resolve: the same credit path, from needs_review only, so
// once) or rejects it (rejected, final).
//
// # History
//
// Each time an answer of MyFatoorah's is applied, and each resolution,
// writes a payment event (payment_events) in the transaction of the
// change: who asked (browser return, webhook, re-check job, admin), what
// arrived and what was decided.
package billing

import (
	"fmt"
	"strconv"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// Currency is the only currency the portal sells in.
const Currency = "KWD"

// PaymentID identifies a payments row.
type PaymentID int64

// PaymentKind says what a payment buys.
type PaymentKind string

// Payment kinds.
const (
	KindSubscription PaymentKind = "subscription"
	KindTopup        PaymentKind = "topup"
)

// PaymentStatus is where a payment is in its life.
type PaymentStatus string

// Payment statuses. Failed, expired and needs_review are not final for
// MyFatoorah: a failed or expired payment that MyFatoorah later reports paid
// (a late payment) still becomes paid; needs_review waits for a person.
const (
	StatusPending     PaymentStatus = "pending"
	StatusPaid        PaymentStatus = "paid"
	StatusFailed      PaymentStatus = "failed"
	StatusExpired     PaymentStatus = "expired"
	StatusNeedsReview PaymentStatus = "needs_review"
	// StatusRejected is final: an admin rejected a payment that needed
	// review (nothing credited); MyFatoorah's later answers change nothing.
	StatusRejected PaymentStatus = "rejected"
)

// payable are the statuses apply may move to paid (or needs_review).
var payable = []PaymentStatus{StatusPending, StatusFailed, StatusExpired}

// Ledger kinds and reference schemes written here (docs/architecture.md
// "Credits and holds").
const (
	LedgerKindPayment = "payment"
)

// PaymentReference is the ledger reference of a paid payment's credits.
func PaymentReference(id PaymentID) string {
	return LedgerKindPayment + ":" + strconv.FormatInt(int64(id), 10)
}

// Plan is a row of subscription_plans.
type Plan struct {
	ID                 int64
	Code               resayil.TierCode
	Name               string
	Price              resayil.Fils
	Credits            resayil.Credits
	DurationDays       int
	RateLimitPerMinute int
	ModelClasses       []resayil.ModelClass
	CloudAllowed       bool
	EnterpriseModels   bool
	TeamsAllowed       bool
	QueuePriority      int
	Features           []string
	Active             bool
	SortOrder          int
}

// Access is the plan as the gateway's model rules read it
// (catalog.Allowed).
func (p Plan) Access() resayil.Plan {
	return resayil.Plan{
		Code: p.Code, Name: p.Name, RateLimitPerMinute: p.RateLimitPerMinute, Classes: p.ModelClasses,
		CloudAllowed: p.CloudAllowed, EnterpriseModels: p.EnterpriseModels, QueuePriority: p.QueuePriority, SortOrder: p.SortOrder,
	}
}

// Duration is how long one purchase of the plan runs.
func (p Plan) Duration() time.Duration { return time.Duration(p.DurationDays) * 24 * time.Hour }

// Pack is a row of topup_packs.
type Pack struct {
	ID        int64
	Code      string
	Name      string
	Credits   resayil.Credits
	Price     resayil.Fils
	Active    bool
	SortOrder int
}

// Payment is a payments row.
type Payment struct {
	ID        PaymentID
	Reference string
	Account   resayil.AccountID
	User      resayil.UserID
	Kind      PaymentKind
	// PlanID is set for a subscription, PackID for a top-up.
	PlanID   int64
	PackID   int64
	Amount   resayil.Fils
	Currency string
	Credits  resayil.Credits
	Status   PaymentStatus
	// InvoiceID is MyFatoorah's InvoiceId; empty until SendPayment answered.
	InvoiceID string
	// ProviderPaymentID is the PaymentId of the successful transaction (or
	// of the latest attempt).
	ProviderPaymentID string
	PaymentURL        string
	FailureReason     string
	// ExpiresAt is when the invoice stops taking payments (48 hours).
	ExpiresAt time.Time
	PaidAt    *time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Subscription is a subscriptions row with its plan.
type Subscription struct {
	ID        int64
	Account   resayil.AccountID
	Plan      Plan
	Status    resayil.SubscriptionStatus
	Source    resayil.SubscriptionSource
	PaymentID PaymentID
	StartsAt  time.Time
	ExpiresAt time.Time
	EndedAt   *time.Time
}

// Notification is a row for the notification outbox. DedupeKey makes it
// once per (event, subject): a second insert is a no-op.
type Notification struct {
	DedupeKey string
	Event     string
	// Audience is "user" or "admins".
	Audience string
	Account  resayil.AccountID
	User     resayil.UserID
	// Params are the template's positional placeholders ({{1}}, {{2}} …).
	Params []string
	// Data is extra context for the sender and for people reading the row.
	Data map[string]any
}

// Notification events and audiences written here (the seeded templates).
const (
	EventSubscriptionConfirmed = "subscription_confirmed"
	EventTopupConfirmed        = "topup_confirmed"
	EventRenewalReminder       = "renewal_reminder"
	EventPaymentNeedsReview    = "payment_needs_review"
	EventEnterpriseCustomer    = "enterprise_customer"
	AudienceUser               = "user"
	AudienceAdmins             = "admins"
)

// Audit actions written here.
const (
	AuditPaymentPaid        = "payment.paid"
	AuditPaymentNeedsReview = "payment.needs_review"
	AuditPaymentResolve     = "payment.resolve"
)

// Audit is an audit_log row.
type Audit struct {
	Actor string
	// ActorUserID is the admin who acted, or 0; IP their address.
	ActorUserID resayil.UserID
	IP          string
	Action      string
	TargetType  string
	TargetID    string
	Details     map[string]any
}

// kuwaitDate formats the Kuwait calendar day of t, as notifications show
// dates ("2025-04-01").
func kuwaitDate(t time.Time) string { return t.In(resayil.KuwaitLocation()).Format("2006-01-02") }

// dedupe builds an outbox dedupe key "<event>:<subject>".
func dedupe(event, subject string) string { return fmt.Sprintf("%s:%s", event, subject) }
