package store_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/ledger"
	"github.com/resayil/portal/portal-api/internal/store"
)

// ledgerFixture is a migrated database with accounts for the ledger tests.
type ledgerFixture struct {
	t   *testing.T
	ctx context.Context
	db  *database.DB
	st  *store.Store
	now time.Time
}

func newLedgerFixture(t *testing.T, b testenv.Backend) *ledgerFixture {
	t.Helper()
	db, _ := testenv.Open(t, b)
	return &ledgerFixture{t: t, ctx: context.Background(), db: db, st: store.New(db), now: time.Now().UTC().Truncate(time.Microsecond)}
}

func (f *ledgerFixture) exec(q string, args ...any) int64 {
	f.t.Helper()
	res, err := f.db.SQL.Exec(q, args...)
	if err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	id, _ := res.LastInsertId()
	return id
}

func (f *ledgerFixture) count(q string, args ...any) int64 {
	f.t.Helper()
	var n int64
	if err := f.db.SQL.QueryRow(q, args...).Scan(&n); err != nil {
		f.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// account creates an account, with a wallet row unless noWallet, and a
// user when email is not empty.
func (f *ledgerFixture) account(email string, noWallet bool) resayil.AccountID {
	f.t.Helper()
	id := f.exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, f.now, f.now)
	if email != "" {
		f.exec(`INSERT INTO users (account_id, email, email_normalized, phone, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, '+96500000000', 'T', 'x', ?, ?)`,
			id, email, normalizedEmail(email), f.now, f.now)
	}
	if !noWallet {
		f.exec(`INSERT INTO wallets (account_id, balance_credits, held_credits, updated_at) VALUES (?, 0, 0, ?)`, id, f.now)
	}
	return resayil.AccountID(id)
}

func (f *ledgerFixture) plan(code string, credits int64) ledger.Plan {
	f.t.Helper()
	id := f.exec(`INSERT INTO subscription_plans (code, name, price_fils, credits, duration_days, rate_limit_per_minute, model_classes, features, created_at, updated_at)
VALUES (?, ?, 1000, ?, 30, 10, 'small', '[]', ?, ?)`, code, code, credits, f.now, f.now)
	return ledger.Plan{ID: id, Code: resayil.TierCode(code), Name: code, Credits: resayil.Credits(credits), DurationDays: 30}
}

func TestLedgerStore_AccountAndPlanLookups(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f := newLedgerFixture(t, b)
			acct := f.account("Mixed@Example.com", false)
			o, err := f.st.AccountByEmail(f.ctx, "  mixed@EXAMPLE.com ")
			if err != nil || o.Account != acct || o.User == 0 || o.Email != "Mixed@Example.com" {
				t.Fatalf("AccountByEmail: %+v, %v", o, err)
			}
			if _, err := f.st.AccountByEmail(f.ctx, "nobody@example.com"); resayil.ErrorCode(err) != resayil.ENOTFOUND {
				t.Fatalf("unknown e-mail: %v, want not_found", err)
			}
			if o, err := f.st.AccountOwner(f.ctx, acct); err != nil || o.Account != acct || o.User == 0 || o.Email != "Mixed@Example.com" {
				t.Fatalf("AccountOwner of a user's account: %+v, %v", o, err)
			}
			team := resayil.AccountID(f.exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('team', 'active', ?, ?)`, f.now, f.now))
			if o, err := f.st.AccountOwner(f.ctx, team); err != nil || o.Account != team || o.User != 0 || o.Email != "" {
				t.Fatalf("AccountOwner of a team's account: %+v, %v", o, err)
			}
			if _, err := f.st.AccountOwner(f.ctx, 999999); resayil.ErrorCode(err) != resayil.ENOTFOUND {
				t.Fatalf("unknown account: %v, want not_found", err)
			}
			want := f.plan("pro", 20000)
			if p, err := f.st.PlanByCode(f.ctx, "pro"); err != nil || p != want {
				t.Fatalf("PlanByCode: %+v, %v; want %+v", p, err, want)
			}
			if _, err := f.st.PlanByCode(f.ctx, "gold"); resayil.ErrorCode(err) != resayil.ENOTFOUND {
				t.Fatalf("unknown plan: %v, want not_found", err)
			}
		})
	}
}

// TestLedgerStore_RecordGrantOncePerReference: concurrent commits of one
// reference apply it once, balance and audit row included; a wallet row is
// created for an account that has none.
func TestLedgerStore_RecordGrantOncePerReference(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f := newLedgerFixture(t, b)
			acct := f.account("", true)
			g := wallet.Grant{Reference: "payment:9", Account: acct, Amount: 70, Reason: "pack"}
			audit := ledger.Audit{Actor: "test", Action: "payment.paid", TargetType: "account", TargetID: fmt.Sprint(acct), Details: map[string]any{"n": 1}}
			var applied atomic.Int32
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := f.st.RecordGrant(f.ctx, g, false, audit, f.now)
					if err != nil {
						t.Error(err)
					}
					if ok {
						applied.Add(1)
					}
				}()
			}
			wg.Wait()
			if applied.Load() != 1 {
				t.Fatalf("%d commits applied, want 1", applied.Load())
			}
			if n := f.count(`SELECT balance_credits FROM wallets WHERE account_id = ?`, acct); n != 70 {
				t.Fatalf("balance %d, want 70", n)
			}
			if n := f.count(`SELECT COUNT(*) FROM credit_ledger WHERE reference = 'payment:9' AND kind = 'payment' AND live_applied_at IS NULL`); n != 1 {
				t.Fatalf("%d ledger rows", n)
			}
			if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE actor = 'test' AND action = 'payment.paid' AND details = '{"n":1}'`); n != 1 {
				t.Fatalf("%d audit rows", n)
			}
			if _, err := f.st.RecordGrant(f.ctx, wallet.Grant{Reference: "admin:x", Account: acct}, true, audit, f.now); err == nil {
				t.Fatal("a grant of 0 credits was recorded")
			}
		})
	}
}

func TestLedgerStore_PendingLiveAndMarkLive(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f := newLedgerFixture(t, b)
			acct := f.account("", false)
			old, fresh := f.now.Add(-time.Minute), f.now
			for i, c := range []struct {
				ref  string
				live bool
				at   time.Time
			}{{"admin:a", false, old}, {"admin:b", true, old}, {"admin:c", false, old}, {"admin:d", false, fresh}} {
				if ok, err := f.st.RecordGrant(f.ctx, wallet.Grant{Reference: c.ref, Account: acct, Amount: resayil.Credits(i + 1)}, c.live, ledger.Audit{}, c.at); !ok || err != nil {
					t.Fatalf("%s: %v %v", c.ref, ok, err)
				}
			}
			refs := func(es []ledger.Entry) []string {
				var out []string
				for _, e := range es {
					out = append(out, e.Reference)
				}
				return out
			}
			got, err := f.st.PendingLive(f.ctx, f.now.Add(-time.Second), 0, 10)
			if err != nil || fmt.Sprint(refs(got)) != "[admin:a admin:c]" {
				t.Fatalf("pending: %v, %v", refs(got), err)
			}
			if e := got[1]; e.Account != acct || e.Amount != 3 || e.Kind != "admin" || !e.CreatedAt.Equal(old) {
				t.Fatalf("entry %+v", e)
			}
			if page, err := f.st.PendingLive(f.ctx, f.now, got[0].ID, 1); err != nil || fmt.Sprint(refs(page)) != "[admin:c]" {
				t.Fatalf("second page: %v, %v", refs(page), err)
			}
			for range 2 {
				if err := f.st.MarkLive(f.ctx, "admin:a", f.now); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := f.st.PendingLive(f.ctx, f.now, 0, 10); err != nil || fmt.Sprint(refs(got)) != "[admin:c admin:d]" {
				t.Fatalf("pending after marking: %v, %v", refs(got), err)
			}
		})
	}
}

func TestLedgerStore_AccountTotalsAndRecordedUsage(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f := newLedgerFixture(t, b)
			a1, a2, a3 := f.account("", false), f.account("", true), f.account("", false)
			for ref, live := range map[string]bool{"admin:1": true, "admin:2": false} {
				if _, err := f.st.RecordGrant(f.ctx, wallet.Grant{Reference: ref, Account: a1, Amount: 100}, live, ledger.Audit{}, f.now); err != nil {
					t.Fatal(err)
				}
			}
			for i, c := range []int64{7, 5} {
				f.exec(`INSERT INTO usage_records (request_id, account_id, model, backend, credits, status, created_at) VALUES (?, ?, 'm', 'local', ?, 'ok', ?)`,
					fmt.Sprint("r", i), a1, c, f.now)
			}
			f.exec(`UPDATE wallets SET balance_credits = 188 WHERE account_id = ?`, a1)
			got, err := f.st.AccountTotals(f.ctx, 0, 10)
			want := []ledger.Totals{{Account: a1, Balance: 188, Grants: 200, Debits: 12, NotLive: 100}, {Account: a2}, {Account: a3}}
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("totals %v, %v; want %v", got, err, want)
			}
			if got, err := f.st.AccountTotals(f.ctx, a1, 1); err != nil || len(got) != 1 || got[0].Account != a2 {
				t.Fatalf("page after %d: %v, %v", a1, got, err)
			}
			rec, err := f.st.RecordedUsage(f.ctx, []string{"r0", "r1", "r9"})
			if err != nil || len(rec) != 2 || !rec["r0"] || !rec["r1"] {
				t.Fatalf("recorded %v, %v", rec, err)
			}
			if rec, err := f.st.RecordedUsage(f.ctx, nil); err != nil || len(rec) != 0 {
				t.Fatalf("recorded of none: %v, %v", rec, err)
			}
		})
	}
}

func TestLedgerStore_ChangePlan(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			f := newLedgerFixture(t, b)
			acct, other := f.account("", false), f.account("", false)
			pro := f.plan("pro", 20000)
			change := func(p *ledger.Plan, grant bool) ledger.PlanChanged {
				t.Helper()
				var audited ledger.PlanChanged
				res, err := f.st.ChangePlan(f.ctx, ledger.PlanChange{Account: acct, Plan: p, StartsAt: f.now, ExpiresAt: f.now.Add(time.Hour), Grant: grant, Reason: "op"},
					true, func(c ledger.PlanChanged) ledger.Audit {
						audited = c
						return ledger.Audit{Actor: "test", Action: "plan.set"}
					}, f.now)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(audited) != fmt.Sprint(res) {
					t.Fatalf("audited %+v, returned %+v", audited, res)
				}
				return res
			}
			f.exec(`INSERT INTO subscriptions (account_id, plan_id, status, source, starts_at, expires_at, created_at, updated_at) VALUES (?, ?, 'active', 'payment', ?, ?, ?, ?)`,
				other, pro.ID, f.now, f.now.Add(time.Hour), f.now, f.now)

			first := change(&pro, true)
			if first.Subscription == nil || len(first.Ended) != 0 || first.Grant == nil || first.Grant.Reference != ledger.SubscriptionReference(first.Subscription.ID) {
				t.Fatalf("first change %+v", first)
			}
			if n := f.count(`SELECT balance_credits FROM wallets WHERE account_id = ?`, acct); n != 20000 {
				t.Fatalf("balance %d", n)
			}
			if n := f.count(`SELECT COUNT(*) FROM credit_ledger WHERE live_applied_at IS NOT NULL AND kind = 'subscription'`); n != 1 {
				t.Fatalf("%d live subscription grants", n)
			}
			second := change(&pro, false)
			if second.Grant != nil || fmt.Sprint(second.Ended) != fmt.Sprint([]int64{first.Subscription.ID}) {
				t.Fatalf("second change %+v", second)
			}
			none := change(nil, false)
			if none.Subscription != nil || fmt.Sprint(none.Ended) != fmt.Sprint([]int64{second.Subscription.ID}) {
				t.Fatalf("change to none %+v", none)
			}
			if n := f.count(`SELECT COUNT(*) FROM subscriptions WHERE account_id = ? AND status = 'ended' AND ended_at IS NOT NULL`, acct); n != 2 {
				t.Fatalf("%d ended", n)
			}
			if n := f.count(`SELECT COUNT(*) FROM subscriptions WHERE account_id = ? AND status = 'active'`, other); n != 1 {
				t.Fatal("another account's subscription was ended")
			}
			if n := f.count(`SELECT COUNT(*) FROM audit_log WHERE action = 'plan.set'`); n != 3 {
				t.Fatalf("%d audit rows", n)
			}

			// A failing audit rolls the whole change back.
			_, err := f.st.ChangePlan(f.ctx, ledger.PlanChange{Account: acct, Plan: &pro, StartsAt: f.now, ExpiresAt: f.now.Add(time.Hour), Grant: true},
				true, func(ledger.PlanChanged) ledger.Audit {
					return ledger.Audit{Action: "plan.set", Details: map[string]any{"bad": make(chan int)}}
				}, f.now)
			if err == nil {
				t.Fatal("a change whose audit row fails was committed")
			}
			if n := f.count(`SELECT COUNT(*) FROM subscriptions WHERE account_id = ?`, acct); n != 2 {
				t.Fatalf("%d subscriptions after a rolled-back change, want 2", n)
			}
			if n := f.count(`SELECT balance_credits FROM wallets WHERE account_id = ?`, acct); n != 20000 {
				t.Fatalf("balance %d after a rolled-back change", n)
			}
		})
	}
}

// normalizedEmail is the stored form of a test address.
func normalizedEmail(email string) string {
	k, ok := account.NormalizeEmail(email)
	if !ok {
		panic("test e-mail not accepted: " + email)
	}
	return k
}
