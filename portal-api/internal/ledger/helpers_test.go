package ledger_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/accountevents/accounteventssql"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
	"github.com/resayil/portal/portal-api/internal/ledger"
	"github.com/resayil/portal/portal-api/internal/ledger/ledgerredis"
	"github.com/resayil/portal/portal-api/internal/store"
)

// Modes of the wallet: the database alone, or Redis in front of it.
const (
	embedded  = "embedded"
	redisMode = "redis"
)

var modes = []string{embedded, redisMode}

// env is one test's real database (and Redis), with the ledger wired as
// cmd/portal-api wires it.
type env struct {
	t      *testing.T
	ctx    context.Context
	db     *database.DB
	st     *store.Store
	svc    *ledger.Service
	cfg    ledger.Config       // svc's, for a test that wires a variant
	rw     *walletredis.Wallet // nil in embedded mode
	redis  *testenv.RedisEnv   // nil in embedded mode
	events accountevents.Subscriber
}

func newEnv(t *testing.T, backend testenv.Backend, mode string) *env {
	t.Helper()
	db, _ := testenv.Open(t, backend)
	e := &env{t: t, ctx: context.Background(), db: db, st: store.New(db)}
	cfg := ledger.Config{Store: e.st}
	if mode == redisMode {
		e.redis = testenv.Redis(t)
		rw, err := walletredis.New(e.redis.Client, walletsql.NewLoader(db), walletredis.Config{Prefix: e.redis.Prefix})
		if err != nil {
			t.Fatal(err)
		}
		e.rw = rw
		cfg.Live, cfg.Usage = rw, ledgerredis.NewUsage(e.redis.Client, rw.Keys())
		bus := accounteventsredis.New(e.redis.Client, accounteventsredis.Config{Prefix: e.redis.Prefix})
		cfg.Events, e.events = bus, bus
	} else {
		cfg.Events = accounteventssql.New(db.SQL, accounteventssql.Config{})
		e.events = accounteventssql.New(db.SQL, accounteventssql.Config{PollInterval: 20 * time.Millisecond})
	}
	svc, err := ledger.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc, e.cfg = svc, cfg
	e.seedPlans()
	return e
}

// reconciler returns a Reconciler on the env's Redis wallet that retries
// rows at once.
func (e *env) reconciler() *ledger.Reconciler {
	e.t.Helper()
	r, err := ledger.NewReconciler(ledger.ReconcilerConfig{Store: e.st, Live: e.rw, MinAge: time.Nanosecond})
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// now is the current time as the store keeps it.
func (e *env) now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	if _, err := e.db.SQL.Exec(q, args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

func (e *env) count(q string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.SQL.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// seedPlans inserts the three tiers with the seeded credits.
func (e *env) seedPlans() {
	now := time.Now().UTC()
	for i, p := range []struct {
		code    string
		credits int64
	}{{"basic", 5000}, {"pro", 20000}, {"enterprise", 100000}} {
		e.exec(`INSERT INTO subscription_plans (code, name, price_fils, credits, duration_days, rate_limit_per_minute, model_classes, features, sort_order, created_at, updated_at)
VALUES (?, ?, 1000, ?, 30, 10, 'small', '[]', ?, ?, ?)`, p.code, p.code, p.credits, i, now, now)
	}
}

// newUser creates a user with a personal account and an empty wallet.
func (e *env) newUser(email string) resayil.AccountID {
	e.t.Helper()
	now := time.Now().UTC()
	res, err := e.db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, now, now)
	if err != nil {
		e.t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	e.exec(`INSERT INTO users (account_id, email, email_normalized, phone, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, '+96500000000', 'T', 'x', ?, ?)`,
		id, email, email, now, now)
	e.exec(`INSERT INTO wallets (account_id, balance_credits, held_credits, updated_at) VALUES (?, 0, 0, ?)`, id, now)
	return resayil.AccountID(id)
}

// durable is the wallets.balance_credits of the account.
func (e *env) durable(acct resayil.AccountID) resayil.Credits {
	e.t.Helper()
	return resayil.Credits(e.count(`SELECT balance_credits FROM wallets WHERE account_id = ?`, acct))
}

// live is the Redis balance in Redis mode, the database's otherwise.
func (e *env) live(acct resayil.AccountID) resayil.Credits {
	e.t.Helper()
	if e.rw == nil {
		return e.durable(acct)
	}
	b, err := e.rw.Balance(e.ctx, acct)
	if err != nil {
		e.t.Fatal(err)
	}
	return b.Total
}

// wantBalance checks the durable and the live balance.
func (e *env) wantBalance(acct resayil.AccountID, want resayil.Credits) {
	e.t.Helper()
	if got := e.durable(acct); got != want {
		e.t.Fatalf("durable balance of account %d: %d, want %d", acct, got, want)
	}
	if got := e.live(acct); got != want {
		e.t.Fatalf("live balance of account %d: %d, want %d", acct, got, want)
	}
}

// wantVerified runs Verify and fails on any mismatch.
func (e *env) wantVerified() ledger.Report {
	e.t.Helper()
	rep, err := e.svc.Verify(e.ctx, ledger.VerifyOptions{Rechecks: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	if !rep.OK() {
		e.t.Fatalf("verify: %v", rep.Mismatches)
	}
	return rep
}

// ledgerState is what a failed command must not change.
func (e *env) ledgerState() string {
	return fmt.Sprint(
		e.count(`SELECT COUNT(*) FROM credit_ledger`),
		e.count(`SELECT COUNT(*) FROM audit_log`),
		e.count(`SELECT COALESCE(SUM(balance_credits), 0) FROM wallets`),
		e.count(`SELECT COUNT(*) FROM subscriptions`),
	)
}

// subscribe delivers the account events published from now on.
func (e *env) subscribe() <-chan accountevents.Event {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan accountevents.Event, 100)
	live := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		first := true
		_ = e.events.Subscribe(ctx, func(ev accountevents.Event) {
			if first {
				first = false
				close(live)
			}
			select {
			case got <- ev:
			case <-ctx.Done():
			}
		})
	}()
	e.t.Cleanup(func() { cancel(); <-done })
	select {
	case <-live:
	case <-time.After(5 * time.Second):
		e.t.Fatal("account events subscription not live within 5s")
	}
	return got
}

// waitEvent waits, within the gateways' 5 s, for an event of kind about acct.
func (e *env) waitEvent(got <-chan accountevents.Event, kind accountevents.Kind, acct resayil.AccountID) accountevents.Event {
	e.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.Kind == kind && ev.Account == acct {
				return ev
			}
		case <-timeout:
			e.t.Fatalf("no %s event for account %d within 5s", kind, acct)
		}
	}
}

// deadRedisWallet is a Redis wallet whose server is unreachable: every call
// fails as a Redis outage does.
func deadRedisWallet(t *testing.T, db *database.DB) *walletredis.Wallet {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	w, err := walletredis.New(c, walletsql.NewLoader(db), walletredis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
