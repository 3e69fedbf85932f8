package billing

import "time"

// Term is when a paid subscription runs.
type Term struct {
	StartsAt  time.Time
	ExpiresAt time.Time
	// Renewal is true when it extends the current subscription of the same
	// plan rather than starting afresh.
	Renewal bool
}

// SubscriptionTerm applies the subscription rules (docs/architecture.md
// "Credits and holds") to a purchase of plan at now, given the account's
// active subscription (nil when none):
//
//	first purchase of a plan     → now + the plan's duration
//	renewal of the same plan     → from the later of now and the current
//	                               expiry, + the plan's duration
//	purchase of another plan     → the new plan starts now, + its duration;
//	                               the old one ends, no refund
//
// The new subscription always starts now and the current one (if any) is
// ended by the caller, so an account has one active subscription; a renewal
// carries the unused time over into the new row's expiry. The plan's
// credits are granted in every case.
func SubscriptionTerm(current *Subscription, plan Plan, now time.Time) Term {
	t := Term{StartsAt: now, ExpiresAt: now.Add(plan.Duration())}
	if current != nil && current.Plan.ID == plan.ID && current.ExpiresAt.After(now) {
		t.ExpiresAt, t.Renewal = current.ExpiresAt.Add(plan.Duration()), true
	} else if current != nil && current.Plan.ID == plan.ID {
		t.Renewal = true
	}
	return t
}
