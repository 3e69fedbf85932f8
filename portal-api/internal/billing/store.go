package billing

import (
	"context"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Store is what billing needs from the database. Lookups of missing rows
// fail with resayil.ENOTFOUND.
type Store interface {
	// Plans and Packs list the catalog in sort order; onlyActive leaves
	// out what is no longer sold.
	Plans(ctx context.Context, onlyActive bool) ([]Plan, error)
	Packs(ctx context.Context, onlyActive bool) ([]Pack, error)
	Plan(ctx context.Context, id int64) (Plan, error)
	Pack(ctx context.Context, id int64) (Pack, error)

	// SetInvoice records the provider's invoice id and payment URL.
	SetInvoice(ctx context.Context, id PaymentID, inv Invoice, now time.Time) error
	// Payment, PaymentByReference and PaymentByInvoice find one payment;
	// PaymentByProviderPayment finds the one whose recorded PaymentId it is.
	Payment(ctx context.Context, id PaymentID) (Payment, error)
	PaymentByReference(ctx context.Context, reference string) (Payment, error)
	PaymentByInvoice(ctx context.Context, invoiceID string) (Payment, error)
	PaymentByProviderPayment(ctx context.Context, providerPaymentID string) (Payment, error)
	// Payments lists an account's payments, newest first, with an id below
	// before (0: from the newest), at most limit.
	Payments(ctx context.Context, account resayil.AccountID, before PaymentID, limit int) ([]Payment, error)

	// ActiveSubscription returns the account's active subscription (the
	// newest when several are), or nil.
	ActiveSubscription(ctx context.Context, account resayil.AccountID) (*Subscription, error)
	// LastSubscription returns the account's newest subscription of any
	// status, or nil.
	LastSubscription(ctx context.Context, account resayil.AccountID) (*Subscription, error)

	// PendingPayments lists up to limit pending payments created at or
	// before createdBefore whose status was last checked at or before
	// checkedBefore (or never), oldest first.
	PendingPayments(ctx context.Context, createdBefore, checkedBefore time.Time, limit int) ([]Payment, error)
	// ClaimStatusCheck sets status_checked_at to now when the payment is
	// pending and was last checked at or before checkedBefore (or never),
	// and reports whether it did: of several replicas, one claims.
	ClaimStatusCheck(ctx context.Context, id PaymentID, checkedBefore, now time.Time) (bool, error)
	// DueSubscriptions lists up to limit active subscriptions whose expiry
	// is at or before now.
	DueSubscriptions(ctx context.Context, now time.Time, limit int) ([]Subscription, error)
	// EndSubscription ends an active subscription (status ended, ended_at
	// now) and reports whether this call ended it.
	EndSubscription(ctx context.Context, id int64, now time.Time) (bool, error)
	// RemindableSubscriptions lists up to limit active subscriptions that
	// expire after now and before until, and have had no reminder.
	RemindableSubscriptions(ctx context.Context, now, until time.Time, limit int) ([]Subscription, error)

	// InTx runs fn in one database transaction, again from the start when
	// the transaction lost to another (a deadlock victim, a lock wait
	// timeout, SQLite busy), so fn resets what it captures.
	InTx(ctx context.Context, fn func(Tx) error) error
}

// Tx is what apply and the jobs do inside one transaction.
type Tx interface {
	// LockPayment reads the payment and locks its row until the end of the
	// transaction (SELECT … FOR UPDATE on MySQL; SQLite's immediate
	// transaction holds the database's write lock already).
	LockPayment(ctx context.Context, id PaymentID) (Payment, error)
	// OpenCheckouts lists the account's pending payments that have not
	// expired at now, oldest first. Checkout calls it holding the
	// account's lock, so it sees every checkout committed before.
	OpenCheckouts(ctx context.Context, account resayil.AccountID, now time.Time) ([]Payment, error)
	// CreatePayment inserts a payment (status pending) and returns it with
	// its id.
	CreatePayment(ctx context.Context, p Payment) (Payment, error)
	// SetPaymentStatus moves the payment to u.Status when its status is one
	// of from, and reports whether it did: the affected-row count of one
	// conditional UPDATE.
	SetPaymentStatus(ctx context.Context, id PaymentID, from []PaymentStatus, u StatusChange) (bool, error)
	// LockAccount locks the account's row, so that two changes of one
	// account's subscriptions run one after the other (MySQL; SQLite is
	// serialized already).
	LockAccount(ctx context.Context, account resayil.AccountID) error
	// ActiveSubscription is Store.ActiveSubscription inside the transaction.
	ActiveSubscription(ctx context.Context, account resayil.AccountID) (*Subscription, error)
	// Plan is Store.Plan inside the transaction.
	Plan(ctx context.Context, id int64) (Plan, error)
	// EndSubscriptions ends every active subscription of the account and
	// returns their ids.
	EndSubscriptions(ctx context.Context, account resayil.AccountID, now time.Time) ([]int64, error)
	// StartSubscription inserts an active subscription (source payment)
	// and returns its id; a second subscription for one payment is a
	// unique-index violation.
	StartSubscription(ctx context.Context, s Subscription, now time.Time) (int64, error)
	// Grant writes the credit_ledger row of g and adds g.Amount to the
	// durable balance; live marks the row live-applied (embedded mode). It
	// returns false, having written nothing, when the reference is in the
	// ledger already.
	Grant(ctx context.Context, g wallet.Grant, live bool, now time.Time) (bool, error)
	// DurableBalance reads wallets.balance_credits.
	DurableBalance(ctx context.Context, account resayil.AccountID) (resayil.Credits, error)
	// MarkReminded sets reminder_sent_at when it is still NULL and reports
	// whether this call set it.
	MarkReminded(ctx context.Context, subscription int64, now time.Time) (bool, error)
	// Notify inserts an outbox row unless its dedupe key exists, and
	// reports whether it inserted.
	Notify(ctx context.Context, n Notification, now time.Time) (bool, error)
	// Audit writes an audit_log row.
	Audit(ctx context.Context, a Audit, now time.Time) error
	// AddPaymentEvent writes a payment_events row.
	AddPaymentEvent(ctx context.Context, e PaymentEvent, now time.Time) error
	// Contact returns the user's name and e-mail, for admin alerts.
	Contact(ctx context.Context, user resayil.UserID) (Contact, error)
}

// Contact is who a user is, as an admin alert names them.
type Contact struct {
	Name, Email string
}

// StatusChange is what SetPaymentStatus writes besides the status.
type StatusChange struct {
	Status PaymentStatus
	// ProviderPaymentID is written when not empty.
	ProviderPaymentID string
	// FailureReason is written when not empty (at most 255 bytes).
	FailureReason string
	// PaidAt is written when not nil.
	PaidAt *time.Time
	Now    time.Time
}
