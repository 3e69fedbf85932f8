package main

import (
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/testenv"
)

func TestPlanSet_OperatorSubscription(t *testing.T) {
	for _, b := range testenv.Backends {
		for _, withRedis := range []bool{false, true} {
			name := string(b) + "/embedded"
			if withRedis {
				name = string(b) + "/redis"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := newLedgerCLI(t, b, withRedis)
				events := c.events()
				via := "the database"
				if withRedis {
					via = "redis"
				}

				start := time.Now().UTC()
				out := c.mustRun("plan pro until", "plan", "set", "--email", ledgerOperator, "--plan", "PRO", "--days", "30", "--grant-credits")
				var subID int64
				var expires time.Time
				if err := c.db.SQL.QueryRow(`SELECT s.id, s.expires_at FROM subscriptions s JOIN subscription_plans p ON p.id = s.plan_id
WHERE s.account_id = ? AND s.status = 'active' AND s.source = 'operator' AND p.code = 'pro' AND s.ended_at IS NULL`, c.account).Scan(&subID, &expires); err != nil {
					t.Fatalf("subscription row: %v", err)
				}
				if d := expires.Sub(start.Add(30 * 24 * time.Hour)); d < -time.Second || d > time.Minute {
					t.Fatalf("expires_at %s, want 30 days from %s", expires, start)
				}
				ref := "subscription:" + itoa64(subID)
				for _, want := range []string{"(subscription " + itoa64(subID) + ")", "granted 20000 credits (reference " + ref + ")", "gateways notified through " + via} {
					if !strings.Contains(out, want) {
						t.Fatalf("output %q lacks %q", out, want)
					}
				}
				c.waitFor(events, accountevents.KindPlanChanged, c.account)
				c.wantBalance(20000)
				if n := c.count(`SELECT COUNT(*) FROM credit_ledger WHERE reference = ? AND kind = 'subscription' AND amount_credits = 20000`, ref); n != 1 {
					t.Fatalf("%d ledger rows for %s", n, ref)
				}
				if n := c.count(`SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND action = 'plan.set' AND target_id = ? AND details LIKE ?`,
					itoa64(int64(c.account)), `%"reference":"`+ref+`"%`); n != 1 {
					t.Fatalf("%d audit rows", n)
				}
				// The audit row holds {before, after, reason}, as the admin
				// API's plan route writes it (one code path).
				if n := c.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'plan.set' AND target_id = ? AND details LIKE ? AND details LIKE ? AND details LIKE ?`,
					itoa64(int64(c.account)), `%"before":{"balance_credits":0,"expires_at":null,"plan":"none"%`,
					`%"after":{"balance_credits":20000,%"plan":"pro","subscription_id":`+itoa64(subID)+`}%`, `%"reason":"operator plan set pro for 30 days"%`); n != 1 {
					t.Fatalf("%d audit rows with before, after and reason", n)
				}
				if withRedis {
					// Retrying the grant step applies nothing more.
					c.mustRun("0 applied", "ledger", "reconcile", "--min-age", "0s")
					c.wantBalance(20000)
				} else {
					c.mustRun("nothing to reconcile", "ledger", "reconcile")
				}
				c.mustRun("all balanced", "ledger", "verify")

				out = c.mustRun("no plan; ended subscription(s) ["+itoa64(subID)+"]", "plan", "set", "--email", ledgerOperator, "--plan", "none", "--reason", "the customer asked to stop")
				if n := c.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'plan.set' AND target_id = ? AND details LIKE ?`,
					itoa64(int64(c.account)), `%"reason":"the customer asked to stop"%`); n != 1 {
					t.Fatalf("%d audit rows with the --reason", n)
				}
				c.waitFor(events, accountevents.KindPlanChanged, c.account)
				if n := c.count(`SELECT COUNT(*) FROM subscriptions WHERE account_id = ? AND status = 'active'`, c.account); n != 0 {
					t.Fatalf("%d subscriptions active after plan none (%s)", n, out)
				}
				if n := c.count(`SELECT COUNT(*) FROM subscriptions WHERE id = ? AND status = 'ended' AND ended_at IS NOT NULL`, subID); n != 1 {
					t.Fatal("the pro subscription was not ended")
				}
				c.wantBalance(20000)
				c.mustRun("all balanced", "ledger", "verify")
			})
		}
	}
}

func TestPlanSet_RefusesAndChangesNothing(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			c := newLedgerCLI(t, b, false)
			before := c.state()
			cases := map[string]struct {
				args []string
				want string
			}{
				"unknown email":   {[]string{"--email", "nobody@example.com", "--plan", "pro", "--days", "30"}, `plan set: no user has the e-mail address "nobody@example.com"`},
				"unknown plan":    {[]string{"--email", ledgerOperator, "--plan", "gold", "--days", "30"}, `--plan must be basic, pro, enterprise or none, got "gold"`},
				"missing plan":    {[]string{"--email", ledgerOperator, "--days", "30"}, "--plan is required"},
				"missing days":    {[]string{"--email", ledgerOperator, "--plan", "pro"}, "--days is required"},
				"zero days":       {[]string{"--email", ledgerOperator, "--plan", "pro", "--days", "0"}, `--days must be a whole number from 1 to 10000, got "0"`},
				"none with days":  {[]string{"--email", ledgerOperator, "--plan", "none", "--days", "3"}, "--days does not apply to --plan none"},
				"none with grant": {[]string{"--email", ledgerOperator, "--plan", "none", "--grant-credits"}, "--grant-credits does not apply"},
				"missing email":   {[]string{"--plan", "pro", "--days", "30"}, "--email is required"},
			}
			for name, tc := range cases {
				_, err := c.run(append([]string{"plan", "set"}, tc.args...)...)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
				}
			}
			if _, err := c.run("plan", "get"); err == nil || !strings.Contains(err.Error(), `unknown plan command "get"`) {
				t.Errorf("plan get: %v", err)
			}
			if after := c.state(); after != before {
				t.Fatalf("ledger, audit, balances, subscriptions, events: %s before, %s after", before, after)
			}
		})
	}
}
