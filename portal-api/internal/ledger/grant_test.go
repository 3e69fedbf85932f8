package ledger_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/portal-api/internal/ledger"
	"github.com/resayil/portal/portal-api/internal/ledger/ledgerredis"
)

func TestGrant_CreditsOnceWithLedgerAndAuditRows(t *testing.T) {
	for _, b := range testenv.Backends {
		for _, mode := range modes {
			t.Run(string(b)+"/"+mode, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, b, mode)
				acct := e.newUser("op@example.com")
				if mode == redisMode {
					e.live(acct) // a warm Redis balance, as after a first request
				}

				res, err := e.svc.Grant(e.ctx, ledger.GrantRequest{Email: " OP@example.com ", Amount: 500, Reason: " goodwill ", Actor: "cli"})
				if err != nil {
					t.Fatal(err)
				}
				if !res.Live || res.Owner.Account != acct || res.Grant.Amount != 500 || !strings.HasPrefix(res.Grant.Reference, "admin:") || len(res.Grant.Reference) != len("admin:")+36 {
					t.Fatalf("result %+v", res)
				}
				e.wantBalance(acct, 500)

				var kind, reason string
				var amount, acctCol int64
				var liveAt, actor any
				if err := e.db.SQL.QueryRow(`SELECT account_id, kind, amount_credits, reason, actor_user_id, live_applied_at FROM credit_ledger WHERE reference = ?`,
					res.Grant.Reference).Scan(&acctCol, &kind, &amount, &reason, &actor, &liveAt); err != nil {
					t.Fatal(err)
				}
				if acctCol != int64(acct) || kind != "admin" || amount != 500 || reason != "goodwill" || actor != nil || liveAt == nil {
					t.Fatalf("ledger row: account %d kind %q amount %d reason %q actor %v live_applied_at %v", acctCol, kind, amount, reason, actor, liveAt)
				}
				if n := e.count(`SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND actor_user_id IS NULL AND action = 'credits.grant'
AND target_type = 'account' AND target_id = ? AND details LIKE ? AND details LIKE ?`, acct, `%"reference":"`+res.Grant.Reference+`"%`, `%"amount_credits":500%`); n != 1 {
					t.Fatalf("audit rows: %d, want 1", n)
				}

				if _, err := e.svc.Grant(e.ctx, ledger.GrantRequest{Email: "op@example.com", Amount: 250, Reason: "more", Actor: "cli"}); err != nil {
					t.Fatal(err)
				}
				e.wantBalance(acct, 750)
				rep := e.wantVerified()
				if rep.Accounts != 1 || rep.LiveChecked != (mode == redisMode) {
					t.Fatalf("report %+v", rep)
				}
			})
		}
	}
}

func TestGrant_ColdRedisBalance(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, redisMode)
			acct := e.newUser("cold@example.com")
			e.exec(`UPDATE wallets SET balance_credits = 70 WHERE account_id = ?`, acct)
			e.exec(`INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, reason, live_applied_at, created_at) VALUES (?, 'payment:1', 'payment', 70, '', ?, ?)`,
				acct, e.now(), e.now())
			// Redis has never seen the account: Credit loads 70 (the grant
			// being applied is not live yet, so not loaded) and adds 30.
			if _, err := e.svc.Grant(e.ctx, ledger.GrantRequest{Email: "cold@example.com", Amount: 30, Reason: "r"}); err != nil {
				t.Fatal(err)
			}
			e.wantBalance(acct, 100)
			e.wantVerified()
		})
	}
}

func TestGrant_InvalidChangesNothing(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, embedded)
			e.newUser("op@example.com")
			before := e.ledgerState()
			cases := map[string]struct {
				req  ledger.GrantRequest
				code resayil.Code
				want string
			}{
				"unknown email":  {ledger.GrantRequest{Email: "nobody@example.com", Amount: 5, Reason: "r"}, resayil.ENOTFOUND, `"nobody@example.com"`},
				"no email":       {ledger.GrantRequest{Amount: 5, Reason: "r"}, resayil.EINVALID, "e-mail"},
				"zero amount":    {ledger.GrantRequest{Email: "op@example.com", Amount: 0, Reason: "r"}, resayil.EINVALID, "amount"},
				"negative":       {ledger.GrantRequest{Email: "op@example.com", Amount: -5, Reason: "r"}, resayil.EINVALID, "amount"},
				"missing reason": {ledger.GrantRequest{Email: "op@example.com", Amount: 5, Reason: "  "}, resayil.EINVALID, "reason"},
				"long reason":    {ledger.GrantRequest{Email: "op@example.com", Amount: 5, Reason: strings.Repeat("r", 256)}, resayil.EINVALID, "255"},
			}
			for name, tc := range cases {
				_, err := e.svc.Grant(e.ctx, tc.req)
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

// TestGrant_LiveFailureIsReconciled: Redis fails after the commit. The
// grant is durable, not live, reported as ErrNotLive, and the reconciler
// applies it once.
func TestGrant_LiveFailureIsReconciled(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, redisMode)
			acct := e.newUser("op@example.com")
			if _, err := e.svc.Grant(e.ctx, ledger.GrantRequest{Email: "op@example.com", Amount: 10, Reason: "first"}); err != nil {
				t.Fatal(err)
			}
			down, err := ledger.New(ledger.Config{Store: e.st, Live: deadRedisWallet(t, e.db),
				Usage: ledgerredis.NewUsage(e.redis.Client, e.rw.Keys()), Events: accounteventsredis.New(e.redis.Client, accounteventsredis.Config{Prefix: e.redis.Prefix})})
			if err != nil {
				t.Fatal(err)
			}
			res, err := down.Grant(e.ctx, ledger.GrantRequest{Email: "op@example.com", Amount: 40, Reason: "during outage"})
			if !errors.Is(err, ledger.ErrNotLive) || res.Live || res.Grant.Reference == "" {
				t.Fatalf("grant with Redis down: %+v, %v; want ErrNotLive with the reference", res, err)
			}
			if resayil.ErrorCode(err) != resayil.EUNAVAILABLE {
				t.Fatalf("code %s, want unavailable", resayil.ErrorCode(err))
			}
			if got := e.durable(acct); got != 50 {
				t.Fatalf("durable balance %d, want 50", got)
			}
			if got := e.live(acct); got != 10 {
				t.Fatalf("live balance %d before reconcile, want 10", got)
			}
			e.wantVerified() // a grant not yet live is allowed for

			r := e.reconciler()
			for i, want := range []ledger.ReconcileResult{{Applied: 1}, {}} {
				got, err := r.Pass(e.ctx)
				if err != nil || got != want {
					t.Fatalf("pass %d: %+v, %v; want %+v", i, got, err, want)
				}
				e.wantBalance(acct, 50)
			}
			if n := e.count(`SELECT COUNT(*) FROM credit_ledger WHERE live_applied_at IS NULL`); n != 0 {
				t.Fatalf("%d rows still not live", n)
			}
		})
	}
}

// TestApplyLive_SameReferenceTwice: a grant reaches the live wallet once
// however often its live step runs.
func TestApplyLive_SameReferenceTwice(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, redisMode)
			acct := e.newUser("op@example.com")
			g := wallet.Grant{Reference: "admin:twice", Account: acct, Amount: 25, Kind: "admin"}
			if ok, err := e.st.RecordGrant(e.ctx, g, false, ledger.Audit{Action: "credits.grant"}, e.now()); !ok || err != nil {
				t.Fatalf("record: %v %v", ok, err)
			}
			if ok, err := e.st.RecordGrant(e.ctx, g, false, ledger.Audit{Action: "credits.grant"}, e.now()); ok || err != nil {
				t.Fatalf("second record: applied %v, %v; want a no-op", ok, err)
			}
			for i, want := range []bool{true, false, false} {
				applied, err := e.svc.ApplyLive(e.ctx, g)
				if err != nil || applied != want {
					t.Fatalf("apply %d: %v, %v; want %v", i, applied, err, want)
				}
			}
			e.wantBalance(acct, 25)
			if n := e.count(`SELECT COUNT(*) FROM audit_log`); n != 1 {
				t.Fatalf("%d audit rows, want 1", n)
			}
			e.wantVerified()
		})
	}
}
