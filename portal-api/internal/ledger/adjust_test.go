package ledger_test

import (
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
			if err := e.st.RecordDebit(e.ctx, d, false, ledger.Audit{Action: ledger.AuditCreditsAdjust}, e.now()); err != nil {
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
