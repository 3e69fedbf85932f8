package walletredis_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// TestFlush_ReloadsWithoutApplyingGrantsTwice follows docs/architecture.md
// "Two ways to run": grants are committed to the database first and applied
// live once by reference; when Redis loses its data, balances reload from the
// database, no grant is applied twice, and usage not yet flushed is lost.
func TestFlush_ReloadsWithoutApplyingGrantsTwice(t *testing.T) {
	ctx := context.Background()
	db, env, w := onSQLite(t)
	acct := newAccount(t, db)
	// payment:1 was applied live long ago; payment:2 is committed and
	// waiting for its live Credit.
	exec(t, db, `INSERT INTO wallets (account_id, balance_credits, held_credits, updated_at) VALUES (?, 700, 0, ?)`, acct, time.Now().UTC())
	commitGrant(t, db, acct, "payment:1", 500, true)
	commitGrant(t, db, acct, "payment:2", 200, false)

	// Cold Redis: Credit loads 500 and then applies payment:2.
	credit(t, w, acct, "payment:2", 200, true)
	exec(t, db, `UPDATE credit_ledger SET live_applied_at = ? WHERE reference = 'payment:2'`, time.Now().UTC())
	credit(t, w, acct, "payment:2", 200, false)
	wantBalance(t, w, acct, 700)

	if _, err := w.Reserve(ctx, wallet.Hold{RequestID: "r1", Account: acct, Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Settle(ctx, wallet.Settlement{RequestID: "r1", Account: acct, Cost: 60}); err != nil {
		t.Fatal(err)
	}
	wantBalance(t, w, acct, 640)

	flush(t, env)
	// The 60 debited live never reached the database: lost with Redis.
	wantBalance(t, w, acct, 700)

	// A grant committed while Redis is empty again: the load leaves it
	// out and Credit adds it, once.
	exec(t, db, `UPDATE wallets SET balance_credits = balance_credits + 300 WHERE account_id = ?`, acct)
	commitGrant(t, db, acct, "payment:3", 300, false)
	flush(t, env)
	credit(t, w, acct, "payment:3", 300, true)
	credit(t, w, acct, "payment:3", 300, false)
	wantBalance(t, w, acct, 1000)
}

// TestColdLoad_Concurrent: many requests racing on an account Redis does
// not know all load it, and the balance is set once (SET NX semantics), so
// it pays for exactly what the database says.
func TestColdLoad_Concurrent(t *testing.T) {
	const callers, price = 60, 10
	ctx := context.Background()
	env := testenv.Redis(t)
	d := &durable{}
	w, err := walletredis.New(env.Client, d, walletredis.Config{Prefix: env.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	const acct resayil.AccountID = 42
	d.set(acct, 50*price)

	var granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := w.Reserve(ctx, wallet.Hold{RequestID: fmt.Sprint("r", i), Account: acct, Amount: price, MinAmount: price})
			switch {
			case err == nil:
				granted.Add(1)
			case resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS:
				t.Errorf("Reserve: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if granted.Load() != 50 {
		t.Fatalf("%d granted, want 50 (loaded %d times)", granted.Load(), d.loads.Load())
	}
	b, err := w.Balance(ctx, acct)
	if err != nil || b != (wallet.Balance{Total: 500, Held: 500, Period: 500}) {
		t.Fatalf("Balance = %+v, %v; want 500 all held", b, err)
	}
}

// TestColdLoad_CarriesPeriod: the credits "of this period" live with the
// balance: a cold load takes the database's period_credits, a live grant
// sets it in the credit script, and after Redis loses its data the reload
// finds the period the grant's durable part wrote (CreditTx, same
// statement as the balance).
func TestColdLoad_CarriesPeriod(t *testing.T) {
	ctx := context.Background()
	db, env, w := onSQLite(t)
	acct := newAccount(t, db)
	exec(t, db, `INSERT INTO wallets (account_id, balance_credits, period_credits, held_credits, updated_at) VALUES (?, 300, 1000, 0, ?)`, acct, time.Now().UTC())
	wantPeriod(t, w, acct, 300, 1000)

	// A grant as portal-api makes it in Redis mode: durable part first
	// (not yet live), then the live Credit.
	g := wallet.Grant{Reference: "payment:9", Account: acct, Amount: 200}
	if err := database.RunTx(ctx, db.SQL, nil, func(tx *sql.Tx) error {
		_, err := walletsql.CreditTx(ctx, tx, db.Dialect, g, false, time.Now().UTC())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	credit(t, w, acct, g.Reference, g.Amount, true)
	exec(t, db, `UPDATE credit_ledger SET live_applied_at = ? WHERE reference = ?`, time.Now().UTC(), g.Reference)
	wantPeriod(t, w, acct, 500, 500)

	flush(t, env)
	wantPeriod(t, w, acct, 500, 500)

	// A live wallet without a period (loaded before the period existed)
	// gets its balance, as the migration gave existing wallets.
	if err := env.Client.HDel(ctx, w.Keys().Account(acct), "period").Err(); err != nil {
		t.Fatal(err)
	}
	wantPeriod(t, w, acct, 500, 500)
}

// TestColdLoad_CarriesThePeriodNumber: the live wallet and the database
// number the periods alike, so an alert's dedupe key names the same
// period in both. A load counts the periods the database has less those
// whose grant is not live yet: that grant's Credit adds its own, whether
// Redis was cold before it or lost its data in between.
func TestColdLoad_CarriesThePeriodNumber(t *testing.T) {
	ctx := context.Background()
	db, env, w := onSQLite(t)
	acct := newAccount(t, db)
	grant := func(ref string, amount resayil.Credits) {
		t.Helper()
		g := wallet.Grant{Reference: ref, Account: acct, Amount: amount}
		if err := database.RunTx(ctx, db.SQL, nil, func(tx *sql.Tx) error {
			_, err := walletsql.CreditTx(ctx, tx, db.Dialect, g, false, time.Now().UTC())
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	wantSeq := func(want int64) {
		t.Helper()
		var durable int64
		if err := db.SQL.QueryRow(`SELECT period_seq FROM wallets WHERE account_id = ?`, acct).Scan(&durable); err != nil {
			t.Fatal(err)
		}
		if b, err := w.Balance(ctx, acct); err != nil || b.PeriodSeq != want || durable != want {
			t.Fatalf("live Balance = %+v, %v, database period_seq %d; want period %d in both", b, err, durable, want)
		}
	}
	markLive := func(ref string) {
		t.Helper()
		exec(t, db, `UPDATE credit_ledger SET live_applied_at = ? WHERE reference = ?`, time.Now().UTC(), ref)
	}
	grant("payment:1", 100)
	credit(t, w, acct, "payment:1", 100, true) // cold: loads period 0, applies 1
	markLive("payment:1")
	wantSeq(1)
	grant("payment:2", 100)
	flush(t, env) // lost before payment:2 went live
	credit(t, w, acct, "payment:2", 100, true)
	markLive("payment:2")
	wantSeq(2)
	flush(t, env)
	wantSeq(2)
	// A reserve on the reloaded wallet refuses in period 2: its alert
	// names period 2, as an embedded refusal would.
	_, err := w.Reserve(ctx, wallet.Hold{RequestID: "big", Account: acct, Amount: 500, MinAmount: 500, AlertOnRefusal: true})
	if resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS {
		t.Fatalf("Reserve = %v, want a refusal", err)
	}
	if got := alertsOf(t, env.Client, w, acct); len(got) != 1 || got[0].DedupeKey() != fmt.Sprintf("credits_exhausted:%d:2", acct) {
		t.Fatalf("alerts %+v, want credits_exhausted of period 2", got)
	}
}

// onSQLite returns a SQLite database, a Redis and a wallet that loads
// cold balances from that database, as in Redis mode.
func onSQLite(t *testing.T) (*database.DB, *testenv.RedisEnv, *walletredis.Wallet) {
	t.Helper()
	db, _ := testenv.SQLite(t)
	env := testenv.Redis(t)
	w, err := walletredis.New(env.Client, walletsql.NewLoader(db), walletredis.Config{Prefix: env.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	return db, env, w
}

func wantPeriod(t *testing.T, w *walletredis.Wallet, acct resayil.AccountID, total, period resayil.Credits) {
	t.Helper()
	b, err := w.Balance(context.Background(), acct)
	if err != nil || b.Total != total || b.Period != period {
		t.Fatalf("Balance = %+v, %v; want total %d, period %d", b, err, total, period)
	}
}

func credit(t *testing.T, w *walletredis.Wallet, acct resayil.AccountID, ref string, amount resayil.Credits, want bool) {
	t.Helper()
	ok, err := w.Credit(context.Background(), wallet.Grant{Reference: ref, Account: acct, Amount: amount})
	if err != nil || ok != want {
		t.Fatalf("Credit(%s) = %v, %v; want %v", ref, ok, err, want)
	}
}

func wantBalance(t *testing.T, w *walletredis.Wallet, acct resayil.AccountID, total resayil.Credits) {
	t.Helper()
	b, err := w.Balance(context.Background(), acct)
	if err != nil || b.Total != total || b.Held != 0 {
		t.Fatalf("Balance = %+v, %v; want total %d, nothing held", b, err, total)
	}
}

// flush deletes every key of the test, as FLUSHALL would.
func flush(t *testing.T, env *testenv.RedisEnv) {
	t.Helper()
	ctx := context.Background()
	keys, err := env.Client.Keys(ctx, env.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := env.Client.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

func newAccount(t *testing.T, db *database.DB) resayil.AccountID {
	t.Helper()
	now := time.Now().UTC()
	res, err := db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, now, now)
	if err != nil {
		t.Fatal(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	return resayil.AccountID(id)
}

// commitGrant writes a credit_ledger row as portal-api does in Redis mode.
func commitGrant(t *testing.T, db *database.DB, acct resayil.AccountID, ref string, amount resayil.Credits, live bool) {
	t.Helper()
	now := time.Now().UTC()
	var applied any
	if live {
		applied = now
	}
	exec(t, db, `INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, reason, live_applied_at, created_at)
VALUES (?, ?, 'payment', ?, '', ?, ?)`, acct, ref, amount, applied, now)
}

func exec(t *testing.T, db *database.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}
