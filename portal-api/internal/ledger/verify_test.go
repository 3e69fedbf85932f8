package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletsql"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// spend runs one request through the mode's wallet: embedded, a usage
// record and a debit in the database; Redis, a debit in Redis and a usage
// event on the stream that no writer has flushed yet.
func (e *env) spend(acct resayil.AccountID, requestID string, cost resayil.Credits) {
	e.t.Helper()
	var w wallet.Wallet = walletsql.New(e.db, walletsql.Config{})
	if e.rw != nil {
		w = e.rw
	}
	if _, err := w.Reserve(e.ctx, wallet.Hold{RequestID: requestID, Account: acct, Amount: 100, MinAmount: 1}); err != nil {
		e.t.Fatal(err)
	}
	if _, err := w.Settle(e.ctx, wallet.Settlement{RequestID: requestID, Account: acct, Cost: cost,
		Usage: wallet.Usage{Model: "m", Backend: "local", Status: "ok", TotalTokens: 10}}); err != nil {
		e.t.Fatal(err)
	}
}

// flush does what the gateway's usage writer does with a settled request:
// the usage record and the durable debit in one transaction.
func (e *env) flush(acct resayil.AccountID, requestID string, cost resayil.Credits) {
	e.t.Helper()
	tx, err := e.db.SQL.Begin()
	if err != nil {
		e.t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	now := e.now()
	if _, err := tx.Exec(`INSERT INTO usage_records (request_id, account_id, model, backend, credits, status, created_at) VALUES (?, ?, 'm', 'local', ?, 'ok', ?)`,
		requestID, acct, cost, now); err != nil {
		e.t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE wallets SET balance_credits = balance_credits - ? WHERE account_id = ?`, cost, acct); err != nil {
		e.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) verify(opt ledger.VerifyOptions) ledger.Report {
	e.t.Helper()
	rep, err := e.svc.Verify(e.ctx, opt)
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func TestVerify_BalancedThenCorrupted(t *testing.T) {
	for _, b := range testenv.Backends {
		for _, mode := range modes {
			t.Run(string(b)+"/"+mode, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t, b, mode)
				acct := e.newUser("a@example.com")
				e.newUser("b@example.com") // an account with nothing at all balances too
				if _, err := e.svc.Grant(e.ctx, ledger.GrantRequest{Email: "a@example.com", Amount: 1000, Reason: "r"}); err != nil {
					t.Fatal(err)
				}
				if _, err := e.svc.SetPlan(e.ctx, ledger.PlanRequest{Email: "b@example.com", Plan: resayil.TierBasic, Days: 30, GrantCredits: true}); err != nil {
					t.Fatal(err)
				}
				e.spend(acct, "req-1", 42)
				if mode == redisMode {
					// Settled in Redis, not flushed: allowed for.
					if e.durable(acct) != 1000 || e.live(acct) != 958 {
						t.Fatalf("durable %d, live %d; want 1000 and 958", e.durable(acct), e.live(acct))
					}
					e.wantVerified()
					// Recorded but not yet deleted from the stream: counted once.
					e.flush(acct, "req-1", 42)
				}
				e.wantBalance(acct, 958)
				if rep := e.wantVerified(); rep.Accounts != 2 {
					t.Fatalf("%d accounts checked, want 2", rep.Accounts)
				}

				// A balance changed behind the ledger's back.
				e.exec(`UPDATE wallets SET balance_credits = balance_credits + 5 WHERE account_id = ?`, acct)
				rep := e.verify(ledger.VerifyOptions{Rechecks: -1})
				if rep.OK() {
					t.Fatal("verify passed with a corrupted balance")
				}
				m := rep.Mismatches[0]
				if m.Live || m.Account != acct || m.Balance != 963 || m.Grants != 1000 || m.Debits != 42 || m.Expected != 958 {
					t.Fatalf("mismatch %+v", m)
				}
				if want := "account " + itoa(int64(acct)) + ": balance 963, grants 1000, debits 42 (grants - debits = 958, off by +5)"; m.String() != want {
					t.Fatalf("mismatch line %q, want %q", m.String(), want)
				}
				e.exec(`UPDATE wallets SET balance_credits = balance_credits - 5 WHERE account_id = ?`, acct)
				e.wantVerified()
			})
		}
	}
}

func TestVerify_CorruptedRedisBalance(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, b, redisMode)
			acct := e.newUser("a@example.com")
			if _, err := e.svc.Grant(e.ctx, ledger.GrantRequest{Email: "a@example.com", Amount: 300, Reason: "r"}); err != nil {
				t.Fatal(err)
			}
			// A hold does not count: it is tracked apart from the balance.
			if _, err := e.rw.Reserve(e.ctx, wallet.Hold{RequestID: "held", Account: acct, Amount: 50, MinAmount: 1}); err != nil {
				t.Fatal(err)
			}
			e.wantVerified()

			key := e.rw.Keys().Account(acct)
			if err := e.redis.Client.HIncrBy(e.ctx, key, "balance", -3).Err(); err != nil {
				t.Fatal(err)
			}
			rep := e.verify(ledger.VerifyOptions{Rechecks: 1, Delay: time.Millisecond})
			if len(rep.Mismatches) != 1 {
				t.Fatalf("mismatches %v, want one", rep.Mismatches)
			}
			m := rep.Mismatches[0]
			if !m.Live || m.Account != acct || m.LiveBalance != 297 || m.Expected != 300 || m.Balance != 300 {
				t.Fatalf("mismatch %+v", m)
			}

			// A difference that goes away while Verify re-reads it (a request
			// settling, a grant being applied) is not reported: the live
			// wallet mends the balance right after Verify's first reading,
			// so the recheck is the reading that agrees.
			cfg := e.cfg
			cfg.Live = &afterFirstBalance{LiveWallet: e.rw, do: func() {
				if err := e.redis.Client.HIncrBy(e.ctx, key, "balance", 3).Err(); err != nil {
					t.Error(err)
				}
			}}
			svc, err := ledger.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			rep, err = svc.Verify(e.ctx, ledger.VerifyOptions{Rechecks: 1, Delay: time.Millisecond})
			if err != nil || !rep.OK() {
				t.Fatalf("transient difference reported: %v, %v", rep.Mismatches, err)
			}
		})
	}
}

// afterFirstBalance is a live wallet that runs do once, right after its
// first Balance reading: a change that lands between two of Verify's
// readings, without a sleep.
type afterFirstBalance struct {
	ledger.LiveWallet
	once sync.Once
	do   func()
}

func (w *afterFirstBalance) Balance(ctx context.Context, acct resayil.AccountID) (wallet.Balance, error) {
	b, err := w.LiveWallet.Balance(ctx, acct)
	w.once.Do(w.do)
	return b, err
}
