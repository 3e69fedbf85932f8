package billing_test

import (
	"testing"
	"time"

	"github.com/resayil/portal/portal-api/internal/billing"
)

// TestSubscriptionTerm is SubscriptionTerm's rules table: a first purchase,
// a renewal of the same plan, a purchase of another plan.
func TestSubscriptionTerm(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	pro := billing.Plan{ID: 2, DurationDays: 30}
	ent := billing.Plan{ID: 3, DurationDays: 30}
	running := func(p billing.Plan, expires time.Time) *billing.Subscription {
		return &billing.Subscription{Plan: p, StartsAt: now.Add(-10 * day), ExpiresAt: expires}
	}
	for _, tc := range []struct {
		name    string
		current *billing.Subscription
		plan    billing.Plan
		expires time.Time
		renewal bool
	}{
		{"first purchase", nil, pro, now.Add(30 * day), false},
		{"renewal before expiry extends from the expiry", running(pro, now.Add(20*day)), pro, now.Add(50 * day), true},
		{"renewal after expiry starts now", running(pro, now.Add(-day)), pro, now.Add(30 * day), true},
		{"another plan starts now", running(pro, now.Add(20*day)), ent, now.Add(30 * day), false},
	} {
		got := billing.SubscriptionTerm(tc.current, tc.plan, now)
		if !got.StartsAt.Equal(now) || !got.ExpiresAt.Equal(tc.expires) || got.Renewal != tc.renewal {
			t.Errorf("%s: %+v, want expiry %s renewal %v", tc.name, got, tc.expires, tc.renewal)
		}
	}
}
