package ledger_test

import (
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

func TestSetPlan_SubscriptionCreditsOnceAndEvent(t *testing.T) {
	for _, b := range testenv.Backends {
		for _, mode := range modes {
			t.Run(string(b)+"/"+mode, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, b, mode)
				acct := e.newUser("team@example.com")
				other := e.newUser("other@example.com")
				events := e.subscribe()

				start := time.Now().UTC()
				res, err := e.svc.SetPlan(e.ctx, ledger.PlanRequest{Email: "team@example.com", Plan: resayil.TierPro, Days: 30, GrantCredits: true, Actor: "cli"})
				if err != nil {
					t.Fatal(err)
				}
				sub := res.Subscription
				if sub == nil || res.Grant == nil || !res.GrantLive || !res.Notified || len(res.Ended) != 0 {
					t.Fatalf("result %+v", res)
				}
				if res.Grant.Reference != ledger.SubscriptionReference(sub.ID) || res.Grant.Amount != 20000 {
					t.Fatalf("grant %+v, want subscription:%d for 20000", res.Grant, sub.ID)
				}
				ev := e.waitEvent(events, accountevents.KindPlanChanged, acct)
				if ev.Subject != "subscription:"+itoa(sub.ID) {
					t.Fatalf("event subject %q", ev.Subject)
				}
				var status, source, code string
				var starts, expires time.Time
				if err := e.db.SQL.QueryRow(`SELECT s.status, s.source, p.code, s.starts_at, s.expires_at FROM subscriptions s
JOIN subscription_plans p ON p.id = s.plan_id WHERE s.id = ? AND s.account_id = ? AND s.ended_at IS NULL AND s.payment_id IS NULL`, sub.ID, acct).
					Scan(&status, &source, &code, &starts, &expires); err != nil {
					t.Fatal(err)
				}
				if status != "active" || source != "operator" || code != "pro" {
					t.Fatalf("subscription %s %s %s", status, source, code)
				}
				if d := starts.Sub(start); d < -time.Second || d > time.Minute {
					t.Fatalf("starts_at %s, want about %s", starts, start)
				}
				if got := expires.Sub(starts); got != 30*24*time.Hour {
					t.Fatalf("expires %s after the start, want 30 days", got)
				}
				e.wantBalance(acct, 20000)
				e.wantBalance(other, 0)
				if n := e.count(`SELECT COUNT(*) FROM credit_ledger WHERE reference = ? AND kind = 'subscription' AND amount_credits = 20000 AND live_applied_at IS NOT NULL`,
					res.Grant.Reference); n != 1 {
					t.Fatalf("%d ledger rows for the subscription, want 1", n)
				}
				if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'plan.set' AND actor = 'cli' AND target_id = ? AND details LIKE ?`,
					acct, `%"subscription_id":`+itoa(sub.ID)+`%`); n != 1 {
					t.Fatalf("%d audit rows, want 1", n)
				}

				// The grant step, retried every way it can be: the commit, the
				// live apply, the reconciler. Credits stay granted once.
				if ok, err := e.st.RecordGrant(e.ctx, *res.Grant, mode == embedded, ledger.Audit{Action: "plan.set"}, e.now()); ok || err != nil {
					t.Fatalf("second commit of the grant: applied %v, %v", ok, err)
				}
				if applied, err := e.svc.ApplyLive(e.ctx, *res.Grant); applied || err != nil {
					t.Fatalf("second live apply: %v, %v", applied, err)
				}
				if mode == redisMode {
					if got, err := e.reconciler().Pass(e.ctx); err != nil || got != (ledger.ReconcileResult{}) {
						t.Fatalf("reconcile: %+v, %v; nothing to do", got, err)
					}
				}
				e.wantBalance(acct, 20000)
				e.wantVerified()

				// Another plan, no credits: the pro subscription ends.
				res2, err := e.svc.SetPlan(e.ctx, ledger.PlanRequest{Email: "team@example.com", Plan: resayil.TierBasic, Days: 7, Actor: "cli"})
				if err != nil {
					t.Fatal(err)
				}
				if res2.Grant != nil || len(res2.Ended) != 1 || res2.Ended[0] != sub.ID || res2.Subscription.Plan.Code != resayil.TierBasic {
					t.Fatalf("second plan %+v", res2)
				}
				e.waitEvent(events, accountevents.KindPlanChanged, acct)
				e.wantBalance(acct, 20000)

				// None: everything ends, nothing starts.
				res3, err := e.svc.SetPlan(e.ctx, ledger.PlanRequest{Email: "team@example.com", Plan: resayil.TierNone, Actor: "cli"})
				if err != nil {
					t.Fatal(err)
				}
				if res3.Subscription != nil || len(res3.Ended) != 1 || res3.Ended[0] != res2.Subscription.ID {
					t.Fatalf("plan none %+v", res3)
				}
				e.waitEvent(events, accountevents.KindPlanChanged, acct)
				if n := e.count(`SELECT COUNT(*) FROM subscriptions WHERE account_id = ? AND (status = 'active' OR ended_at IS NULL)`, acct); n != 0 {
					t.Fatalf("%d subscriptions still active after plan none", n)
				}
				if n := e.count(`SELECT COUNT(*) FROM subscriptions WHERE account_id = ? AND status = 'ended'`, acct); n != 2 {
					t.Fatalf("%d ended subscriptions, want 2", n)
				}
				e.wantBalance(acct, 20000) // credits never expire
				e.wantVerified()
			})
		}
	}
}

func TestSetPlan_InvalidChangesNothing(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, embedded)
			e.newUser("op@example.com")
			e.exec(`DELETE FROM subscription_plans WHERE code = 'enterprise'`)
			before := e.ledgerState()
			cases := map[string]struct {
				req  ledger.PlanRequest
				code resayil.Code
				want string
			}{
				"unknown email":   {ledger.PlanRequest{Email: "nobody@example.com", Plan: resayil.TierPro, Days: 30}, resayil.ENOTFOUND, "nobody@example.com"},
				"unknown plan":    {ledger.PlanRequest{Email: "op@example.com", Plan: "gold", Days: 30}, resayil.EINVALID, "gold"},
				"plan not seeded": {ledger.PlanRequest{Email: "op@example.com", Plan: resayil.TierEnterprise, Days: 30}, resayil.ENOTFOUND, "seed"},
				"zero days":       {ledger.PlanRequest{Email: "op@example.com", Plan: resayil.TierPro}, resayil.EINVALID, "days"},
				"too many days":   {ledger.PlanRequest{Email: "op@example.com", Plan: resayil.TierPro, Days: ledger.MaxDays + 1}, resayil.EINVALID, "days"},
				"none with days":  {ledger.PlanRequest{Email: "op@example.com", Plan: resayil.TierNone, Days: 3}, resayil.EINVALID, "days"},
				"none with grant": {ledger.PlanRequest{Email: "op@example.com", Plan: resayil.TierNone, GrantCredits: true}, resayil.EINVALID, "credits"},
			}
			for name, tc := range cases {
				_, err := e.svc.SetPlan(e.ctx, tc.req)
				if resayil.ErrorCode(err) != tc.code || !strings.Contains(resayil.ErrorMessage(err), tc.want) {
					t.Errorf("%s: error %v, want code %s with %q", name, err, tc.code, tc.want)
				}
			}
			if after := e.ledgerState(); after != before {
				t.Fatalf("ledger, audit, balances, subscriptions: %s before, %s after", before, after)
			}
		})
	}
}
