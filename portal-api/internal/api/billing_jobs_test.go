package api_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

const day = 24 * time.Hour

// TestJobs_ReconcileMissedWebhook: a payment whose webhook never came and
// whose buyer never returned is credited by the re-check job, once, and a
// pending payment nobody pays expires after 48 hours.
func TestJobs_ReconcileMissedWebhook(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		c, _ := s.SignUp(t, "silent")
		paid := s.topup(t, c, "topup-15k")
		s.pay(t, paid.invoice)
		never := s.topup(t, c, "topup-5k")

		calls := s.mf.StatusCalls()
		s.runJobs(t)
		if got := s.mf.StatusCalls() - calls; got != 0 {
			t.Fatalf("payments younger than 10 minutes were checked (%d calls)", got)
		}
		s.Clock.Advance(11 * time.Minute)
		// Three replicas at once: each payment is asked about once.
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.App.Billing.RecheckPayments(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if got := s.mf.StatusCalls() - calls; got != 2 {
			t.Errorf("%d GetPaymentStatus calls for 2 pending payments checked by 3 replicas", got)
		}
		if st := s.paymentStatus(t, paid.PaymentID); st != "paid" {
			t.Fatalf("missed-webhook payment is %s", st)
		}
		if rows, sum := s.credited(t, paid.PaymentID); rows != 1 || sum != 15000 {
			t.Fatalf("ledger %d rows %d credits", rows, sum)
		}
		c.Login(t, c.Email, apitest.DefaultPassword, false) // the clock moved past the access token
		if b := billingOf(t, c); b.BalanceCredits != 15000 {
			t.Errorf("balance %d", b.BalanceCredits)
		}
		s.verify(t)

		// Within 5 minutes nobody asks again.
		calls = s.mf.StatusCalls()
		s.Clock.Advance(2 * time.Minute)
		s.App.Billing.RecheckPayments(context.Background())
		if got := s.mf.StatusCalls() - calls; got != 0 {
			t.Errorf("re-asked within 5 minutes (%d calls)", got)
		}
		// The webhook, late, changes nothing.
		s.deliverSigned(t, paid.invoice).Want(t, http.StatusOK)
		if rows, _ := s.credited(t, paid.PaymentID); rows != 1 {
			t.Errorf("late webhook: %d rows", rows)
		}

		s.Clock.Advance(48 * time.Hour)
		s.runJobs(t)
		if st := s.paymentStatus(t, never.PaymentID); st != "expired" {
			t.Errorf("unpaid payment after 48 hours is %s, want expired", st)
		}
		c.Login(t, c.Email, apitest.DefaultPassword, false)
		if b := billingOf(t, c); b.BalanceCredits != 15000 {
			t.Errorf("balance %d", b.BalanceCredits)
		}
		s.verify(t)
	})
}

// TestJobs_SubscriptionLife walks the rules table: first purchase, renewal
// (extends from the current expiry), reminder (once), expiry (back to
// Basic, gateways told), another plan (starts now, old one ends).
func TestJobs_SubscriptionLife(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		c, u := s.SignUp(t, "subscriber")
		t0 := s.Clock.Now().Truncate(time.Microsecond)
		planEvents := func() int64 {
			return s.count(t, "SELECT COUNT(*) FROM account_events WHERE kind = 'plan_changed' AND account_id = ?", u.AccountID)
		}
		buy := func(plan string) {
			t.Helper()
			c.Login(t, c.Email, apitest.DefaultPassword, false) // the clock moves past access tokens
			p := s.subscribe(t, c, plan)
			if q := s.browse(t, s.pay(t, p.invoice)); q.Get("status") != "paid" {
				t.Fatalf("buying %s: %v", plan, q)
			}
		}
		want := func(status, plan string, expires time.Time, balance int64) {
			t.Helper()
			c.Login(t, c.Email, apitest.DefaultPassword, false)
			b := billingOf(t, c)
			got := ""
			if b.Plan != nil {
				got = b.Plan.Code
			}
			if b.Status != status || got != plan || b.BalanceCredits != balance || b.ExpiresAt == nil || !b.ExpiresAt.Equal(expires) {
				t.Fatalf("billing %+v (plan %q, expires %v); want %s %s until %s, balance %d", b, got, b.ExpiresAt, status, plan, expires, balance)
			}
			s.verify(t)
		}

		buy("pro")
		want("active", "pro", t0.Add(30*day), 20000)
		s.runJobs(t)

		s.Clock.Advance(10 * day)
		buy("pro") // renewal 20 days early: the 20 days carry over
		want("active", "pro", t0.Add(60*day), 40000)
		if n := s.count(t, "SELECT COUNT(*) FROM subscriptions WHERE account_id = ? AND status = 'active'", u.AccountID); n != 1 {
			t.Errorf("%d active subscriptions", n)
		}

		s.Clock.Advance(46 * day) // 4 days before expiry: no reminder yet
		s.runJobs(t)
		reminders := func() int64 {
			return s.count(t, "SELECT COUNT(*) FROM notifications WHERE event = 'renewal_reminder' AND account_id = ?", u.AccountID)
		}
		if n := reminders(); n != 0 {
			t.Errorf("%d reminders 4 days before expiry", n)
		}
		s.Clock.Advance(day + time.Hour) // inside the 3 days
		s.runJobs(t)
		s.Clock.Advance(11 * time.Minute)
		s.runJobs(t)
		if n := reminders(); n != 1 {
			t.Errorf("%d renewal reminders, want exactly 1", n)
		}

		events := planEvents()
		s.Clock.Advance(3 * day) // past the expiry
		s.runJobs(t)
		c.Login(t, c.Email, apitest.DefaultPassword, false)
		b := billingOf(t, c)
		if b.Status != "expired" || b.EffectivePlan.Code != "basic" || b.EffectivePlan.RateLimitPerMinute != 10 || b.RenewalDate != nil || b.BalanceCredits != 40000 {
			t.Fatalf("after expiry: %+v", b)
		}
		if n := s.count(t, "SELECT COUNT(*) FROM subscriptions WHERE account_id = ? AND status = 'active'", u.AccountID); n != 0 {
			t.Errorf("%d active subscriptions after expiry", n)
		}
		if planEvents() != events+1 {
			t.Errorf("expiry published %d plan_changed events, want 1", planEvents()-events)
		}
		s.runJobs(t) // again: nothing more to end
		if planEvents() != events+1 {
			t.Error("a second pass announced the expiry again")
		}
		s.verify(t)

		// Another plan while one runs: it starts now, the old one ends.
		buy("enterprise")
		now := s.Clock.Now().Truncate(time.Microsecond)
		want("active", "enterprise", now.Add(30*day), 140000)
		s.Clock.Advance(5 * day)
		buy("basic")
		now = s.Clock.Now().Truncate(time.Microsecond)
		want("active", "basic", now.Add(30*day), 145000)
		var ended int64
		ended = s.count(t, `SELECT COUNT(*) FROM subscriptions s JOIN subscription_plans p ON p.id = s.plan_id
WHERE s.account_id = ? AND p.code = 'enterprise' AND s.status = 'ended'`, u.AccountID)
		if ended != 1 {
			t.Errorf("the enterprise subscription did not end (%d)", ended)
		}
	})
}
