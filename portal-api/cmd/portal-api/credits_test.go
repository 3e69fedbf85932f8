package main

import (
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/testenv"
)

func TestCreditsGrant_CommitsLedgerAuditAndLiveBalance(t *testing.T) {
	for _, b := range testenv.Backends {
		for _, withRedis := range []bool{false, true} {
			name := string(b) + "/embedded"
			if withRedis {
				name = string(b) + "/redis"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := newLedgerCLI(t, b, withRedis)
				out := c.mustRun("granted 500 credits to "+ledgerOperator, "credits", "grant", "--email", "Admin@Resayil.local", "--amount", "500", "--reason", "launch bonus")
				if !strings.Contains(out, "balance now 500") {
					t.Fatalf("output %q does not show the new balance", out)
				}
				var ref string
				if err := c.db.SQL.QueryRow(`SELECT reference FROM credit_ledger WHERE account_id = ? AND kind = 'admin' AND amount_credits = 500
AND reason = 'launch bonus' AND actor_user_id IS NULL AND live_applied_at IS NOT NULL`, c.account).Scan(&ref); err != nil {
					t.Fatalf("ledger row: %v", err)
				}
				if !strings.HasPrefix(ref, "admin:") || !strings.Contains(out, ref) {
					t.Fatalf("reference %q (output %q)", ref, out)
				}
				if n := c.count(`SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND action = 'credits.grant' AND target_type = 'account' AND target_id = ?
AND details LIKE ?`, itoa64(int64(c.account)), `%"reference":"`+ref+`"%`); n != 1 {
					t.Fatalf("%d audit rows, want 1", n)
				}
				c.wantBalance(500)

				c.mustRun("balance now 525", "credits", "grant", "--email", ledgerOperator, "--amount", "25", "--reason", "second")
				c.wantBalance(525)
				if withRedis {
					// The grant step retried by the reconciler changes nothing.
					c.mustRun("ledger reconcile: 0 applied, 0 already live, 0 failed", "ledger", "reconcile", "--min-age", "0s")
					c.wantBalance(525)
				}
				c.mustRun("all balanced", "ledger", "verify")
			})
		}
	}
}

func TestCreditsGrant_RefusesAndChangesNothing(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			c := newLedgerCLI(t, b, false)
			before := c.state()
			cases := map[string]struct {
				args []string
				want string
			}{
				"unknown email":  {[]string{"--email", "nobody@example.com", "--amount", "5", "--reason", "r"}, `credits grant: no user has the e-mail address "nobody@example.com"`},
				"zero amount":    {[]string{"--email", ledgerOperator, "--amount", "0", "--reason", "r"}, `--amount must be a positive whole number, got "0"`},
				"negative":       {[]string{"--email", ledgerOperator, "--amount", "-4", "--reason", "r"}, `--amount must be a positive whole number`},
				"fraction":       {[]string{"--email", ledgerOperator, "--amount", "1.5", "--reason", "r"}, `--amount must be a positive whole number, got "1.5"`},
				"not a number":   {[]string{"--email", ledgerOperator, "--amount", "ten", "--reason", "r"}, `got "ten"`},
				"missing amount": {[]string{"--email", ledgerOperator, "--reason", "r"}, "--amount is required"},
				"missing reason": {[]string{"--email", ledgerOperator, "--amount", "5"}, "--reason is required"},
				"blank reason":   {[]string{"--email", ledgerOperator, "--amount", "5", "--reason", "  "}, "--reason is required"},
				"long reason":    {[]string{"--email", ledgerOperator, "--amount", "5", "--reason", strings.Repeat("x", 256)}, "at most 255 bytes"},
				"missing email":  {[]string{"--amount", "5", "--reason", "r"}, "--email is required"},
				"bad flag":       {[]string{"--mail", ledgerOperator}, "flag provided but not defined"},
				"extra argument": {[]string{"--email", ledgerOperator, "--amount", "5", "--reason", "r", "now"}, `unexpected argument "now"`},
			}
			for name, tc := range cases {
				_, err := c.run(append([]string{"credits", "grant"}, tc.args...)...)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: error %v, want one containing %q", name, err, tc.want)
				}
				if err != nil && strings.Contains(err.Error(), "resayil error") {
					t.Errorf("%s: internal error format reached the operator: %v", name, err)
				}
			}
			for args, want := range map[string]string{"": creditsUsage, "take": `unknown credits command "take"`} {
				a := []string{"credits"}
				if args != "" {
					a = append(a, args)
				}
				if _, err := c.run(a...); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%v: error %v, want %q", a, err, want)
				}
			}
			if after := c.state(); after != before {
				t.Fatalf("ledger, audit, balances, subscriptions, events: %s before, %s after", before, after)
			}
		})
	}
}

func TestLedgerCommands_Usage(t *testing.T) {
	out, err := runCmd(t, nil, "help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"credits grant --email E --amount N --reason R",
		"plan set --email E --plan basic|pro|enterprise|none --days N [--grant-credits]",
		"ledger verify", "ledger reconcile",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("usage lacks %q:\n%s", want, out)
		}
	}
}
