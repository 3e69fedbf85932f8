package billing

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Subscription states shown to the account.
const (
	StateActive  = "active"
	StateExpired = "expired"
	StateNone    = "none"
)

// Overview is an account's billing at a glance.
type Overview struct {
	// State is active (a plan runs), expired (the last plan ended) or none
	// (never subscribed).
	State string
	// Subscription is the running subscription, or the last one when
	// State is expired; nil for none.
	Subscription *Subscription
	// Effective is the plan whose limits apply: the subscribed one, else
	// Basic (no plan means Basic's limits and models, docs/architecture.md
	// "Credits and holds").
	Effective Plan
	Balance   wallet.Balance
}

// Overview reads the account's plan, its expiry and its balance (the live
// one in Redis mode).
func (s *Service) Overview(ctx context.Context, account resayil.AccountID) (Overview, error) {
	var o Overview
	now := s.clock()
	sub, err := s.store.ActiveSubscription(ctx, account)
	if err != nil {
		return o, fmt.Errorf("active subscription: %w", err)
	}
	switch {
	case sub != nil && sub.ExpiresAt.After(now) && !sub.StartsAt.After(now):
		o.State, o.Subscription, o.Effective = StateActive, sub, sub.Plan
	default:
		last, err := s.store.LastSubscription(ctx, account)
		if err != nil {
			return o, fmt.Errorf("last subscription: %w", err)
		}
		o.State = StateNone
		if last != nil {
			o.State, o.Subscription = StateExpired, last
		}
		if o.Effective, err = s.basic(ctx); err != nil {
			return o, err
		}
	}
	if o.Balance, err = s.balances.Balance(ctx, account); err != nil {
		return o, fmt.Errorf("balance: %w", err)
	}
	return o, nil
}

// basic is the plan of an account without one.
func (s *Service) basic(ctx context.Context) (Plan, error) {
	plans, err := s.store.Plans(ctx, false)
	if err != nil {
		return Plan{}, fmt.Errorf("plans: %w", err)
	}
	for _, p := range plans {
		if p.Code == resayil.TierBasic {
			return p, nil
		}
	}
	return Plan{}, resayil.Errorf(resayil.EUNAVAILABLE, "The Basic plan is not in the database: run `portal-api seed`.")
}

// RenewBy is the last moment to renew without a gap: the expiry of a
// running subscription.
func (o Overview) RenewBy() *time.Time {
	if o.State != StateActive || o.Subscription == nil {
		return nil
	}
	t := o.Subscription.ExpiresAt
	return &t
}

// MaxPageSize bounds a page of payments.
const MaxPageSize = 100

// PaymentPage is one page of an account's payments, newest first.
type PaymentPage struct {
	Payments []Payment
	// Next is the id to pass as before for the next page; 0 on the last.
	Next PaymentID
}

// Payments lists an account's payments, newest first: limit (1 to 100) of
// them with an id below before (0 starts from the newest).
func (s *Service) Payments(ctx context.Context, account resayil.AccountID, before PaymentID, limit int) (PaymentPage, error) {
	if limit < 1 || limit > MaxPageSize {
		return PaymentPage{}, invalid("limit", "Must be a whole number from 1 to %d.", MaxPageSize)
	}
	rows, err := s.store.Payments(ctx, account, before, limit+1)
	if err != nil {
		return PaymentPage{}, fmt.Errorf("list payments: %w", err)
	}
	var page PaymentPage
	if len(rows) > limit {
		rows = rows[:limit]
		page.Next = rows[limit-1].ID
	}
	page.Payments = rows
	return page, nil
}

// Payment returns one payment of the account; another account's is
// ENOTFOUND.
func (s *Service) Payment(ctx context.Context, account resayil.AccountID, id PaymentID) (Payment, error) {
	p, err := s.store.Payment(ctx, id)
	if resayil.ErrorCode(err) == resayil.ENOTFOUND || (err == nil && p.Account != account) {
		return Payment{}, resayil.Errorf(resayil.ENOTFOUND, "The payment does not exist.")
	}
	return p, err
}

// Balance reads an account's balance (the live one in Redis mode).
func (s *Service) Balance(ctx context.Context, account resayil.AccountID) (wallet.Balance, error) {
	return s.balances.Balance(ctx, account)
}
