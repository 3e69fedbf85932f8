package ledger_test

import (
	"fmt"
	"maps"
	"testing"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// TestAdjust_DebitKeepsTheLedgerBalanced: a negative adjustment is a
// negative ledger row, so Verify holds; it never takes a balance below
// zero, in either mode.
func TestAdjust_DebitKeepsTheLedgerBalanced(t *testing.T) {
	for _, b := range testenv.Backends {
		for _, mode := range modes {
			t.Run(string(b)+"/"+mode, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, b, mode)
				acct := e.newUser("adj@example.com")
				var user int64
				if err := e.db.SQL.QueryRow(`SELECT id FROM users WHERE account_id = ?`, acct).Scan(&user); err != nil {
					t.Fatal(err)
				}
				adj := func(delta resayil.Credits) (ledger.AdjustResult, error) {
					return e.svc.Adjust(e.ctx, ledger.AdjustRequest{User: resayil.UserID(user), Delta: delta, Reason: "test", ActorUserID: 1})
				}
				if _, err := adj(500); err != nil {
					t.Fatal(err)
				}
				res, err := adj(-200)
				if err != nil || !res.Live {
					t.Fatalf("debit: %+v, %v", res, err)
				}
				e.wantBalance(acct, 300)
				before := e.ledgerState()
				_, err = adj(-301)
				if resayil.ErrorCode(err) != resayil.ECONFLICT {
					t.Fatalf("debit below zero: %v, want conflict", err)
				}
				if e.ledgerState() != before {
					t.Fatal("a refused debit changed the ledger")
				}
				e.wantBalance(acct, 300)
				if mode == redisMode {
					if b, _ := e.rw.Balance(e.ctx, acct); b.Held != 0 {
						t.Errorf("a refused debit left %d credits held", b.Held)
					}
				}
				if _, err := adj(-300); err != nil {
					t.Fatal(err)
				}
				e.wantBalance(acct, 0)
				e.wantVerified()
			})
		}
	}
}

// TestReconciler_WithdrawsADebitThatFailedLive: a debit committed to the
// ledger whose live withdrawal failed is withdrawn by the reconciler, once;
// until then Verify counts it as not yet live.
func TestReconciler_WithdrawsADebitThatFailedLive(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, redisMode)
			acct := e.newUser("w@example.com")
			if _, err := e.svc.Grant(e.ctx, ledger.GrantRequest{Email: "w@example.com", Amount: 100, Reason: "r"}); err != nil {
				t.Fatal(err)
			}
			// What Adjust commits before its live step: the negative row,
			// not yet live, and the durable decrease.
			d := wallet.Grant{Reference: "admin:debit-1", Account: acct, Amount: 30, Kind: ledger.KindAdmin, Reason: "r"}
			if err := e.st.RecordDebit(e.ctx, d, false, ledger.Audit{Action: ledger.AuditCreditsAdjust}, "", e.now()); err != nil {
				t.Fatal(err)
			}
			if e.durable(acct) != 70 || e.live(acct) != 100 {
				t.Fatalf("durable %d live %d; want 70 and 100", e.durable(acct), e.live(acct))
			}
			e.wantVerified() // the pending debit is accounted for as not yet live
			r := e.reconciler()
			for i, want := range []ledger.ReconcileResult{{Applied: 1}, {}} {
				got, err := r.Pass(e.ctx)
				if err != nil || got != want {
					t.Fatalf("pass %d: %+v, %v; want %+v", i, got, err, want)
				}
				e.wantBalance(acct, 70)
			}
			e.wantVerified()
		})
	}
}

// TestAdjust_DebitRaisesBalanceAlerts: an admin's debit is a debit like a
// request's: in its transaction it writes the credits_low row when it
// takes the balance below a fifth of the period's credits and the
// credits_exhausted row when it takes it to zero, once per period; a
// positive adjustment is a grant and starts the next period.
func TestAdjust_DebitRaisesBalanceAlerts(t *testing.T) {
	const link = "https://portal.example/billing"
	for _, b := range testenv.Backends {
		for _, mode := range modes {
			t.Run(string(b)+"/"+mode, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, b, mode)
				cfg := e.cfg
				cfg.TopUpURL = link
				svc, err := ledger.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				acct := e.newUser("alerts@example.com")
				var user int64
				if err := e.db.SQL.QueryRow(`SELECT id FROM users WHERE account_id = ?`, acct).Scan(&user); err != nil {
					t.Fatal(err)
				}
				adj := func(delta resayil.Credits) {
					t.Helper()
					if _, err := svc.Adjust(e.ctx, ledger.AdjustRequest{User: resayil.UserID(user), Delta: delta, Reason: "test", ActorUserID: 1}); err != nil {
						t.Fatalf("Adjust(%d): %v", delta, err)
					}
				}
				outbox := func() map[string]string {
					t.Helper()
					rows, err := e.db.SQL.Query(`SELECT dedupe_key, payload FROM notifications WHERE account_id = ? AND user_id = ?`, acct, user)
					if err != nil {
						t.Fatal(err)
					}
					defer rows.Close()
					out := map[string]string{}
					for rows.Next() {
						var k, p string
						if err := rows.Scan(&k, &p); err != nil {
							t.Fatal(err)
						}
						out[k] = p
					}
					return out
				}
				key := func(event string, seq int) string { return fmt.Sprintf("%s:%d:%d", event, acct, seq) }
				adj(500) // period 1: 500
				adj(-100)
				want := map[string]string{}
				if got := outbox(); !maps.Equal(got, want) {
					t.Fatalf("outbox after 500 to 400: %v, want none", got)
				}
				adj(-301) // 399 to 99: below 100
				want[key("credits_low", 1)] = `{"params":["99","` + link + `"]}`
				if got := outbox(); !maps.Equal(got, want) {
					t.Fatalf("outbox %v, want %v", got, want)
				}
				adj(-9)  // already below
				adj(-90) // to zero
				want[key("credits_exhausted", 1)] = `{"params":["` + link + `"]}`
				if got := outbox(); !maps.Equal(got, want) {
					t.Fatalf("outbox %v, want %v", got, want)
				}
				adj(10) // period 2: 10
				adj(-9)
				want[key("credits_low", 2)] = `{"params":["1","` + link + `"]}`
				if got := outbox(); !maps.Equal(got, want) {
					t.Fatalf("outbox %v, want %v", got, want)
				}
				if mode == redisMode {
					// The live wallet counts the same periods.
					if bal, err := e.rw.Balance(e.ctx, acct); err != nil || bal.PeriodSeq != 2 || bal.Total != 1 {
						t.Fatalf("live Balance = %+v, %v; want period 2, 1 left", bal, err)
					}
				}
				e.wantVerified()
			})
		}
	}
}
