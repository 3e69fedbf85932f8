// Package ledger is the operators' side of the credit ledger: granting
// credits by hand, recording a subscription an operator gives, making sure
// every grant reaches the live wallet once, and checking that every balance
// still equals its grants minus its debits (docs/architecture.md, "Credits
// and holds" and "Two ways to run").
//
// # One grant, two steps
//
// A grant is first committed to the database in one transaction: its
// credit_ledger row (unique reference), the increment of the durable
// wallets.balance_credits and the audit_log row. Then it is applied to the
// live wallet once, by reference:
//
//   - Embedded mode (no Redis): the database is the wallet, so the
//     transaction itself is the live apply and the row is written with
//     live_applied_at already set, exactly as walletsql.Credit writes it.
//   - Redis mode: the row is committed with live_applied_at NULL, then
//     LiveWallet.Credit (walletredis) applies it to the Redis balance, then
//     live_applied_at is set. walletsql.Loader leaves rows whose
//     live_applied_at is NULL out of a cold Redis balance, so a grant is never
//     counted both by a load and by its Credit. If the process dies or Redis
//     fails between the two steps, the Reconciler applies the row later;
//     walletredis remembers applied references, so a retry never applies
//     twice.
//
// # Verify
//
// Verify reads, per account, the durable balance, the sum of its ledger rows
// and the sum of its usage records; they must agree. In Redis mode it also
// compares the live Redis balance with the durable one, less the grants not
// yet live and the usage events still in the Redis streams (settled but not
// yet written to the database).
package ledger

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Ledger kinds and reference schemes written here (docs/architecture.md
// "Credits and holds").
const (
	KindAdmin        = "admin"
	KindSubscription = "subscription"
)

// Audit actions written here.
const (
	AuditCreditsGrant = "credits.grant"
	AuditPlanSet      = "plan.set"
)

// Limits of the input, from the credit_ledger and plan columns.
const (
	MaxReasonLen = 255
	// MaxDays bounds an operator subscription (about 27 years): a typo of
	// extra digits fails instead of recording a plan that never ends.
	MaxDays = 10000
)

// ErrNotLive means a grant is committed to the database but could not be
// applied to the live wallet yet. The Reconciler applies it later; granting
// again would grant twice.
var ErrNotLive = errors.New("grant recorded but not yet applied to the live wallet")

// ErrNotNotified means a change is committed but the account event that
// tells the gateways could not be published.
var ErrNotNotified = errors.New("change recorded but the gateways were not notified")

// SubscriptionReference is the ledger reference of a subscription's credits.
func SubscriptionReference(id int64) string {
	return KindSubscription + ":" + strconv.FormatInt(id, 10)
}

// Owner is an account whose credits or plan change, with its user: a
// user's personal account, or a team's account (User 0, Email "").
type Owner struct {
	User    resayil.UserID
	Account resayil.AccountID
	Email   string
}

// Plan is a row of subscription_plans, as far as the ledger needs it.
type Plan struct {
	ID      int64
	Code    resayil.TierCode
	Name    string
	Credits resayil.Credits
	// DurationDays is how long a purchase of the plan runs.
	DurationDays int
}

// Subscription is a subscriptions row.
type Subscription struct {
	ID        int64
	Account   resayil.AccountID
	Plan      Plan
	Status    resayil.SubscriptionStatus
	Source    resayil.SubscriptionSource
	StartsAt  time.Time
	ExpiresAt time.Time
}

// Entry is a credit_ledger row.
type Entry struct {
	ID        int64
	Reference string
	Account   resayil.AccountID
	Kind      string
	Amount    resayil.Credits
	CreatedAt time.Time
}

// Grant returns the grant that applies the entry to a wallet.
func (e Entry) Grant() wallet.Grant {
	return wallet.Grant{Reference: e.Reference, Account: e.Account, Amount: e.Amount, Kind: e.Kind}
}

// Audit is an audit_log row.
type Audit struct {
	// Actor names who acted when it is not a portal user, e.g. "cli".
	Actor string
	// ActorUserID is the portal user who acted (an admin), or 0.
	ActorUserID resayil.UserID
	// IP is the actor's address, when they acted over HTTP.
	IP         string
	Action     string
	TargetType string
	TargetID   string
	// Details is stored as JSON. An admin action's details hold
	// {before, after, reason}: the state it changed, as read in its
	// transaction, and why.
	Details map[string]any
	// Balance asks the store to add the account's durable balance
	// (wallets.balance_credits) before and after the change, read in the
	// change's transaction, as "balance_credits" in Details["before"] and
	// Details["after"] (maps, created when missing).
	Balance bool
}

// PlanChange is what ChangePlan records.
type PlanChange struct {
	Account resayil.AccountID
	// Plan is the new plan; nil ends the current one and starts none.
	Plan      *Plan
	StartsAt  time.Time
	ExpiresAt time.Time
	// Grant also grants Plan.Credits with the reference
	// SubscriptionReference(new subscription id), in the same transaction.
	Grant  bool
	Reason string
}

// PlanChanged is what ChangePlan did.
type PlanChanged struct {
	// Ended lists the subscriptions that were active and are now ended.
	Ended []int64
	// Subscription is the new one; nil when the change was to no plan.
	Subscription *Subscription
	// Grant is the grant recorded with it, when PlanChange.Grant.
	Grant *wallet.Grant
	// Previous is the subscription that was running when the change began
	// (of the ended ones, the one that expires last); nil when none was.
	Previous *Subscription
	// Balance is the account's durable balance after the change (before
	// it, less the grant).
	Balance resayil.Credits
}

// Totals are one account's durable numbers, read in one statement so that
// they are one consistent snapshot.
type Totals struct {
	Account resayil.AccountID
	// Balance is wallets.balance_credits (0 when there is no wallet row).
	Balance resayil.Credits
	// Grants is SUM(credit_ledger.amount_credits).
	Grants resayil.Credits
	// Debits is SUM(usage_records.credits).
	Debits resayil.Credits
	// NotLive is the part of Grants whose live_applied_at is NULL.
	NotLive resayil.Credits
}

// Store is what the ledger needs from the database. Lookups of missing rows
// fail with resayil.ENOTFOUND.
type Store interface {
	// AccountByEmail returns the user with the e-mail (compared
	// case-insensitively) and their personal account.
	AccountByEmail(ctx context.Context, email string) (Owner, error)
	// AccountByUserID returns the user with the id and their personal
	// account.
	AccountByUserID(ctx context.Context, id resayil.UserID) (Owner, error)
	// AccountOwner returns the account with the id and its user (User 0
	// and Email "" for a team's account, which has no user of its own).
	AccountOwner(ctx context.Context, id resayil.AccountID) (Owner, error)
	// PlanByCode returns the subscription plan with the code.
	PlanByCode(ctx context.Context, code resayil.TierCode) (Plan, error)
	// RecordGrant commits, in one transaction, the credit_ledger row of g
	// (live_applied_at = now when live, else NULL), g.Amount added to the
	// account's wallets.balance_credits (the row is created when missing)
	// and the audit row. When the reference is already in the ledger it
	// commits nothing and returns applied false.
	RecordGrant(ctx context.Context, g wallet.Grant, live bool, audit Audit, now time.Time) (applied bool, err error)
	// RecordDebit commits, in one transaction: the account's
	// wallets.balance_credits lowered by d.Amount only when its available
	// balance (balance - held) is at least d.Amount, the credit_ledger row
	// of the debit (amount -d.Amount, live_applied_at = now when live, else
	// NULL) and the audit row; and when the debit raises a balance alert
	// (wallet.DebitAlert on the durable balance and the period's credits),
	// the alert's outbox row, linking to topUpURL (walletsql.RecordAlert,
	// once per period). When the balance is short it commits nothing and
	// returns a *wallet.InsufficientCreditsError.
	RecordDebit(ctx context.Context, d wallet.Grant, live bool, audit Audit, topUpURL string, now time.Time) error
	// ChangePlan commits, in one transaction: every active subscription of
	// c.Account ended (status ended, ended_at now); c's subscription
	// inserted (source operator) unless c.Plan is nil; when c.Grant, the
	// plan's credits granted as RecordGrant does (live as there) with the
	// reference SubscriptionReference(new id); and the audit row that
	// audit builds from what changed.
	ChangePlan(ctx context.Context, c PlanChange, live bool, audit func(PlanChanged) Audit, now time.Time) (PlanChanged, error)
	// MarkLive sets live_applied_at of the ledger row with the reference
	// when it is still NULL; a row already marked is left as it is.
	MarkLive(ctx context.Context, reference string, now time.Time) error
	// PendingLive returns up to limit ledger rows whose live_applied_at is
	// NULL, created at or before createdBefore, with id above afterID, in id
	// order.
	PendingLive(ctx context.Context, createdBefore time.Time, afterID int64, limit int) ([]Entry, error)
	// AccountTotals returns up to limit accounts with an id above after, in
	// id order, each with its Totals.
	AccountTotals(ctx context.Context, after resayil.AccountID, limit int) ([]Totals, error)
	// RecordedUsage returns which of the request ids have a usage record.
	RecordedUsage(ctx context.Context, requestIDs []string) (map[string]bool, error)
}

// LiveWallet is the Redis wallet (walletredis.Wallet) in Redis mode.
type LiveWallet interface {
	// Credit applies g to the live balance once per g.Reference and
	// reports whether this call applied it.
	Credit(ctx context.Context, g wallet.Grant) (applied bool, err error)
	// Withdraw takes g.Amount (positive) from the live balance once per
	// g.Reference, never below zero (an *wallet.InsufficientCreditsError
	// then), consuming the hold Reserve placed under g.Reference.
	Withdraw(ctx context.Context, g wallet.Grant) (applied bool, err error)
	// Reserve and Release hold live credits (wallet.Wallet's).
	Reserve(ctx context.Context, h wallet.Hold) (resayil.Credits, error)
	Release(ctx context.Context, account resayil.AccountID, requestID string) (resayil.Credits, error)
	// Balance returns the live balance of the account.
	Balance(ctx context.Context, account resayil.AccountID) (wallet.Balance, error)
}

// PendingUsage is a usage event still in a Redis stream: its debit is in the
// live balance and, until the usage writer records it, not in the database.
type PendingUsage struct {
	RequestID string
	Account   resayil.AccountID
	Credits   resayil.Credits
}

// UsageSource lists the usage events still in the Redis streams.
type UsageSource interface {
	PendingUsage(ctx context.Context) ([]PendingUsage, error)
}

// Config assembles a Service.
type Config struct {
	Store Store
	// Live is the live wallet in Redis mode; nil means embedded mode, where
	// the database is the wallet.
	Live LiveWallet
	// Usage reads the Redis usage streams for Verify; required with Live.
	Usage UsageSource
	// Events tells the gateways about plan changes; required.
	Events accountevents.Publisher
	// Now defaults to time.Now.
	Now func() time.Time
	Log *slog.Logger
	// TopUpURL is the link of the balance alerts an admin debit raises
	// (wallet.TopUpURL(RESAYIL_PUBLIC_URL)).
	TopUpURL string
}

// Service grants credits, records operator subscriptions and verifies the
// ledger.
type Service struct {
	store  Store
	live   LiveWallet
	usage  UsageSource
	events accountevents.Publisher
	now    func() time.Time
	log    *slog.Logger
	// topUpURL: Config.TopUpURL.
	topUpURL string
}

// New returns a Service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("ledger: a Store is required")
	case cfg.Events == nil:
		return nil, errors.New("ledger: an event publisher is required")
	case cfg.Live != nil && cfg.Usage == nil:
		return nil, errors.New("ledger: Redis mode needs a UsageSource")
	}
	s := &Service{store: cfg.Store, live: cfg.Live, usage: cfg.Usage, events: cfg.Events, now: cfg.Now, log: cfg.Log, topUpURL: cfg.TopUpURL}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// clock returns the time as stored: UTC, whole microseconds (DATETIME(6)),
// as walletsql stores it, so SQLite's text timestamps compare in order.
func clock(now func() time.Time) time.Time { return dbtime.Of(now()) }

// embedded reports whether the database is the live wallet.
func (s *Service) embedded() bool { return s.live == nil }

// owner finds the account of an e-mail, with a message an operator can act on.
func (s *Service) owner(ctx context.Context, email string) (Owner, error) {
	o, err := s.store.AccountByEmail(ctx, email)
	if resayil.ErrorCode(err) == resayil.ENOTFOUND {
		return Owner{}, resayil.Errorf(resayil.ENOTFOUND, "No user has the e-mail address %q.", email)
	}
	if err != nil {
		return Owner{}, fmt.Errorf("find account: %w", err)
	}
	return o, nil
}

// applyLive credits a committed grant to the live wallet and then marks its
// row live. Only after Credit returned without error may the row be marked:
// a marked row counts in a cold load, so marking first could lose the grant.
// A negative amount is an admin debit, withdrawn by reference the same way.
func applyLive(ctx context.Context, store Store, live LiveWallet, g wallet.Grant, now time.Time) (bool, error) {
	var applied bool
	var err error
	if g.Amount < 0 {
		g.Amount = -g.Amount
		applied, err = live.Withdraw(ctx, g)
	} else {
		applied, err = live.Credit(ctx, g)
	}
	if err != nil {
		return false, fmt.Errorf("apply to live wallet: %w", err)
	}
	if err := store.MarkLive(ctx, g.Reference, now); err != nil {
		// Redis has it; the reconciler's retry is a no-op there and marks it.
		return applied, fmt.Errorf("mark %s live: %w", g.Reference, err)
	}
	return applied, nil
}

// ApplyLive applies a committed grant to the live wallet once, by its
// reference, and marks its row live; it reports whether this call changed
// the live balance. In embedded mode the commit was the live apply and it
// does nothing. It is safe to repeat.
func (s *Service) ApplyLive(ctx context.Context, g wallet.Grant) (bool, error) {
	if s.embedded() {
		return false, nil
	}
	return applyLive(ctx, s.store, s.live, g, clock(s.now))
}

func invalid(field, format string, args ...any) error {
	return resayil.Invalid(resayil.FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}
