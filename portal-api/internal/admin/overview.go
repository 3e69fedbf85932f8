package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
)

// OverviewStore is what the platform overview and the revenue report read.
type OverviewStore interface {
	// UserCounts counts users: all, created at or after new7 and new30,
	// and disabled (the user or the account).
	UserCounts(ctx context.Context, new7, new30 time.Time) (UserCounts, error)
	// ActiveSubscriptions counts accounts with a subscription running at
	// now, by plan code.
	ActiveSubscriptions(ctx context.Context, now time.Time) (map[string]int64, error)
	// RevenueSums sums the payments paid at from through to (both
	// included) by kind and plan code.
	RevenueSums(ctx context.Context, from, to time.Time) ([]RevenueSum, error)
	// PaidPayments lists the payments paid at or after from and before
	// to, oldest paid first.
	PaidPayments(ctx context.Context, from, to time.Time) ([]PaidPayment, error)
	// Credits sums the ledger's grants and debits made from through to,
	// and the credits usage_hourly counts in the hours from through to.
	Credits(ctx context.Context, from, to time.Time) (CreditTotals, error)
	// Requests sums usage_hourly's requests and errors per backend in
	// the hours starting from through to.
	Requests(ctx context.Context, from, to time.Time) (map[string]BackendRequests, error)
	// DeliveryBacklog counts WhatsApp deliveries waiting or failed.
	DeliveryBacklog(ctx context.Context) (Backlog, error)
}

// BudgetReader reads a day's cloud budget (cloudbudget.Store.Get).
type BudgetReader interface {
	Get(ctx context.Context, day cloudbudget.Day) (cloudbudget.State, error)
}

// Reports answers the platform overview and the revenue report.
type Reports struct {
	store  OverviewStore
	budget BudgetReader
	now    func() time.Time
}

// NewReports builds the reports; budget may be nil (the overview then
// says the budget is unknown).
func NewReports(store OverviewStore, budget BudgetReader, now func() time.Time) *Reports {
	if now == nil {
		now = time.Now
	}
	return &Reports{store: store, budget: budget, now: now}
}

// Tiers are the seeded plans, always present in a breakdown by tier
// (with zero when nothing was sold); plans added later appear by their
// code when they sold something.
var Tiers = []string{string(resayil.TierBasic), string(resayil.TierPro), string(resayil.TierEnterprise)}

// UserCounts are the users' figures.
type UserCounts struct {
	Total, New7d, New30d, Disabled int64
}

// RevenueSum is the revenue of one kind (and plan, for subscriptions).
type RevenueSum struct {
	Kind string
	// Tier is the plan's code of a subscription; empty for a top-up.
	Tier     string
	Amount   resayil.Fils
	Payments int64
}

// PaidPayment is a paid payment as the revenue report reads it.
type PaidPayment struct {
	PaidAt time.Time
	Kind   string
	Tier   string
	Amount resayil.Fils
}

// Payment kinds as the reports group them.
const (
	kindSubscription = "subscription"
	kindTopup        = "topup"
)

// RevenueTotals is the revenue of a period by paid time, in fils.
type RevenueTotals struct {
	From, To time.Time
	Total    resayil.Fils
	// ByTier is subscriptions' revenue by plan code.
	ByTier   map[string]resayil.Fils
	Topups   resayil.Fils
	Payments int64
}

func newTotals(from, to time.Time) RevenueTotals {
	t := RevenueTotals{From: from, To: to, ByTier: map[string]resayil.Fils{}}
	for _, code := range Tiers {
		t.ByTier[code] = 0
	}
	return t
}

func (t *RevenueTotals) add(kind, tier string, amount resayil.Fils, payments int64) {
	t.Total += amount
	t.Payments += payments
	if kind == kindTopup {
		t.Topups += amount
		return
	}
	t.ByTier[tier] += amount
}

// CreditTotals are the credits granted and spent over a period.
type CreditTotals struct {
	From, To time.Time
	// Granted sums the ledger's positive rows (payments, subscriptions,
	// admin grants, refunds); Debited the admins' debits, as a positive
	// number; Consumed the usage billed, by whole UTC hours.
	Granted, Debited, Consumed int64
}

// BackendRequests are one backend's requests and errors.
type BackendRequests struct {
	Requests, Errors int64
}

// ErrorRate is Errors / Requests, 0 without requests.
func (b BackendRequests) ErrorRate() float64 {
	if b.Requests == 0 {
		return 0
	}
	return float64(b.Errors) / float64(b.Requests)
}

// RequestsToday are today's requests, in Kuwait days.
type RequestsToday struct {
	Day          cloudbudget.Day
	From, To     time.Time
	Local, Cloud BackendRequests
}

// Budget states.
const (
	BudgetOK        = "ok"
	BudgetWarning   = "warning"
	BudgetExhausted = "exhausted"
	BudgetUnknown   = "unknown"
)

// BudgetWarningPercent is where the cloud budget turns to warning (the
// admins' first alert).
const BudgetWarningPercent = 80

// CloudBudget is today's cloud budget as the overview shows it.
type CloudBudget struct {
	Day cloudbudget.Day
	// State is ok under 80 %, warning from 80 %, exhausted at 100 % (or a
	// cap of 0), when the cloud is off; unknown when it could not be read.
	State   string
	Known   bool
	Used    int64
	Cap     int64
	Percent int64
	CloudOn bool
}

// BudgetOf reads a day's state as the overview shows it.
func BudgetOf(st cloudbudget.State) CloudBudget {
	b := CloudBudget{Day: st.Day, Known: true, Used: st.Used, Cap: st.Cap, Percent: st.Percent(), CloudOn: st.Room(), State: BudgetOK}
	switch {
	case !st.Room():
		b.State = BudgetExhausted
	case st.Used*100 >= st.Cap*BudgetWarningPercent:
		b.State = BudgetWarning
	}
	return b
}

// Backlog is the WhatsApp deliveries not yet sent.
type Backlog struct {
	Pending, Sending, Failed int64
}

// Overview is the admin console's first page.
type Overview struct {
	At    time.Time
	Users UserCounts
	// ActiveByTier counts accounts with a running subscription by plan.
	ActiveByTier map[string]int64
	// Month is this Kuwait month's revenue, Last30 the last 30 days'.
	Month, Last30 RevenueTotals
	Credits       CreditTotals
	Requests      RequestsToday
	Budget        CloudBudget
	Notifications Backlog
}

// Overview reads the platform's figures at now. Only the cloud budget
// may be unknown; any other read that fails fails the overview.
func (r *Reports) Overview(ctx context.Context) (Overview, error) {
	now := dbtime.Of(r.now())
	kw := resayil.KuwaitLocation()
	local := now.In(kw)
	monthStart := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, kw).UTC()
	dayStart := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, kw).UTC()
	since30 := now.Add(-30 * 24 * time.Hour)
	o := Overview{At: now, Month: newTotals(monthStart, now), Last30: newTotals(since30, now)}
	var err error
	if o.Users, err = r.store.UserCounts(ctx, now.Add(-7*24*time.Hour), since30); err != nil {
		return Overview{}, fmt.Errorf("count users: %w", err)
	}
	if o.ActiveByTier, err = r.store.ActiveSubscriptions(ctx, now); err != nil {
		return Overview{}, fmt.Errorf("count subscriptions: %w", err)
	}
	for _, code := range Tiers {
		o.ActiveByTier[code] += 0
	}
	for _, t := range []*RevenueTotals{&o.Month, &o.Last30} {
		sums, err := r.store.RevenueSums(ctx, t.From, t.To)
		if err != nil {
			return Overview{}, fmt.Errorf("sum revenue: %w", err)
		}
		for _, s := range sums {
			t.add(s.Kind, s.Tier, s.Amount, s.Payments)
		}
	}
	if o.Credits, err = r.store.Credits(ctx, since30, now); err != nil {
		return Overview{}, fmt.Errorf("sum credits: %w", err)
	}
	o.Credits.From, o.Credits.To = since30, now
	reqs, err := r.store.Requests(ctx, dayStart, now)
	if err != nil {
		return Overview{}, fmt.Errorf("count requests: %w", err)
	}
	o.Requests = RequestsToday{Day: cloudbudget.DayOf(now), From: dayStart, To: now, Local: reqs["local"], Cloud: reqs["cloud"]}
	o.Budget = r.cloudBudget(ctx, now)
	if o.Notifications, err = r.store.DeliveryBacklog(ctx); err != nil {
		return Overview{}, fmt.Errorf("count deliveries: %w", err)
	}
	return o, nil
}

// cloudBudget reads today's budget; a store that cannot be read (Redis
// down) is unknown, never a failed overview.
func (r *Reports) cloudBudget(ctx context.Context, now time.Time) CloudBudget {
	day := cloudbudget.DayOf(now)
	if r.budget == nil {
		return CloudBudget{Day: day, State: BudgetUnknown}
	}
	st, err := r.budget.Get(ctx, day)
	if err != nil {
		return CloudBudget{Day: day, State: BudgetUnknown}
	}
	return BudgetOf(st)
}
