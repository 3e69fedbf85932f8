package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// TestReconciler_AppliesWhatFailedOnce simulates a grant whose live apply
// failed: the ledger row and the durable increment are committed, with
// live_applied_at NULL. One pass applies it, the next changes nothing.
func TestReconciler_AppliesWhatFailedOnce(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, redisMode)
			acct := e.newUser("a@example.com")
			if _, err := e.svc.Grant(e.ctx, ledger.GrantRequest{Email: "a@example.com", Amount: 100, Reason: "r"}); err != nil {
				t.Fatal(err)
			}
			pending := wallet.Grant{Reference: "payment:77", Account: acct, Amount: 40}
			if ok, err := e.st.RecordGrant(e.ctx, pending, false, ledger.Audit{Action: "payment.paid"}, e.now()); !ok || err != nil {
				t.Fatalf("record: %v, %v", ok, err)
			}
			if e.durable(acct) != 140 || e.live(acct) != 100 {
				t.Fatalf("durable %d, live %d before reconcile; want 140 and 100", e.durable(acct), e.live(acct))
			}

			// Too young for a reconciler with the default minimum age.
			young, err := ledger.NewReconciler(ledger.ReconcilerConfig{Store: e.st, Live: e.rw})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := young.Pass(e.ctx); err != nil || got != (ledger.ReconcileResult{}) {
				t.Fatalf("pass over a fresh row: %+v, %v; want nothing", got, err)
			}

			r := e.reconciler()
			for i, want := range []ledger.ReconcileResult{{Applied: 1}, {}, {}} {
				got, err := r.Pass(e.ctx)
				if err != nil || got != want {
					t.Fatalf("pass %d: %+v, %v; want %+v", i, got, err, want)
				}
				e.wantBalance(acct, 140)
			}
			if n := e.count(`SELECT COUNT(*) FROM credit_ledger WHERE reference = 'payment:77' AND live_applied_at IS NOT NULL`); n != 1 {
				t.Fatal("row not marked live")
			}
			e.wantVerified()
		})
	}
}

// TestReconciler_LiveButNotMarked: Redis got the grant, marking the row
// failed. The retry must only mark it.
func TestReconciler_LiveButNotMarked(t *testing.T) {
	e := newEnv(t, testenv.SQLiteBackend, redisMode)
	acct := e.newUser("a@example.com")
	g := wallet.Grant{Reference: "admin:half", Account: acct, Amount: 60, Kind: "admin"}
	if ok, err := e.st.RecordGrant(e.ctx, g, false, ledger.Audit{Action: "credits.grant"}, e.now()); !ok || err != nil {
		t.Fatalf("record: %v, %v", ok, err)
	}
	if ok, err := e.rw.Credit(e.ctx, g); !ok || err != nil {
		t.Fatalf("credit: %v, %v", ok, err)
	}
	got, err := e.reconciler().Pass(e.ctx)
	if err != nil || got != (ledger.ReconcileResult{AlreadyLive: 1}) {
		t.Fatalf("pass: %+v, %v; want one already live", got, err)
	}
	e.wantBalance(acct, 60)
}

// TestReconciler_AfterRedisLostItsData: Redis emptied while a grant was
// pending. The cold load leaves the pending row out, the retry adds it:
// once.
func TestReconciler_AfterRedisLostItsData(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, redisMode)
			acct := e.newUser("a@example.com")
			if _, err := e.svc.Grant(e.ctx, ledger.GrantRequest{Email: "a@example.com", Amount: 500, Reason: "r"}); err != nil {
				t.Fatal(err)
			}
			if ok, err := e.st.RecordGrant(e.ctx, wallet.Grant{Reference: "admin:pending", Account: acct, Amount: 20, Kind: "admin"}, false,
				ledger.Audit{Action: "credits.grant"}, e.now()); !ok || err != nil {
				t.Fatalf("record: %v, %v", ok, err)
			}
			keys := e.rw.Keys()
			if err := e.redis.Client.Del(e.ctx, keys.Account(acct), keys.Grants(acct)).Err(); err != nil {
				t.Fatal(err)
			}
			e.wantVerified() // loads 500 cold: the pending 20 is allowed for
			if _, err := e.reconciler().Pass(e.ctx); err != nil {
				t.Fatal(err)
			}
			e.wantBalance(acct, 520)
			if got, err := e.reconciler().Pass(e.ctx); err != nil || got != (ledger.ReconcileResult{}) {
				t.Fatalf("second pass: %+v, %v", got, err)
			}
			e.wantBalance(acct, 520)
			e.wantVerified()
		})
	}
}

func TestReconciler_Run(t *testing.T) {
	e := newEnv(t, testenv.MariaDBBackend, redisMode)
	acct := e.newUser("a@example.com")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.reconciler().Run(ctx, 20*time.Millisecond) }()

	if ok, err := e.st.RecordGrant(e.ctx, wallet.Grant{Reference: "admin:run", Account: acct, Amount: 9, Kind: "admin"}, false,
		ledger.Audit{Action: "credits.grant"}, e.now()); !ok || err != nil {
		t.Fatalf("record: %v, %v", ok, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.count(`SELECT COUNT(*) FROM credit_ledger WHERE live_applied_at IS NULL`) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not apply the pending grant within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	e.wantBalance(acct, 9)
}
