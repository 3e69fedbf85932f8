package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/accountevents/accounteventssql"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// ledgerOperator is the seeded admin, the user the ledger commands act on.
const ledgerOperator = "admin@resayil.local"

// ledgerCLI runs the operator commands against a migrated, seeded database
// of one backend, in embedded mode or with Redis.
type ledgerCLI struct {
	t       *testing.T
	ctx     context.Context
	env     []string
	db      *database.DB
	redis   *testenv.RedisEnv   // nil in embedded mode
	wallet  *walletredis.Wallet // the gateways' view of Redis; nil in embedded mode
	account resayil.AccountID
}

func newLedgerCLI(t *testing.T, b testenv.Backend, withRedis bool) *ledgerCLI {
	t.Helper()
	dsn := testenv.EmptySQLite(t)
	if b == testenv.MariaDBBackend {
		dsn = testenv.EmptyMariaDB(t)
	}
	c := &ledgerCLI{t: t, ctx: context.Background(),
		env: []string{"RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_BCRYPT_COST=4"}}
	for _, args := range [][]string{{"migrate", "up"}, {"seed"}} {
		if out, err := runCmd(t, c.env, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	db, err := database.Open(c.ctx, dsn, database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	c.db = db
	if withRedis {
		c.redis = testenv.Redis(t)
		c.env = append(c.env, "RESAYIL_REDIS_URL="+c.redis.URL, "RESAYIL_REDIS_PREFIX="+c.redis.Prefix)
		if c.wallet, err = walletredis.New(c.redis.Client, walletsql.NewLoader(db), walletredis.Config{Prefix: c.redis.Prefix}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SQL.QueryRow(`SELECT account_id FROM users WHERE email_normalized = ?`, ledgerOperator).Scan(&c.account); err != nil {
		t.Fatal(err)
	}
	return c
}

// run runs the command and returns its output.
func (c *ledgerCLI) run(args ...string) (string, error) {
	c.t.Helper()
	return runCmd(c.t, c.env, args...)
}

// mustRun runs a command that must succeed and print want.
func (c *ledgerCLI) mustRun(want string, args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil || !strings.Contains(out, want) {
		c.t.Fatalf("%v: %v\n%s\nwant output containing %q", args, err, out, want)
	}
	return out
}

// mustFail runs a command that must fail with an error containing want.
func (c *ledgerCLI) mustFail(want string, args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err == nil || !strings.Contains(err.Error(), want) {
		c.t.Fatalf("%v: error %v, want one containing %q\n%s", args, err, want, out)
	}
	return out
}

func (c *ledgerCLI) exec(q string, args ...any) {
	c.t.Helper()
	if _, err := c.db.SQL.Exec(q, args...); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
}

func (c *ledgerCLI) count(q string, args ...any) int64 {
	c.t.Helper()
	var n int64
	if err := c.db.SQL.QueryRow(q, args...).Scan(&n); err != nil {
		c.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// wantBalance checks wallets.balance_credits and, with Redis, the live
// balance a gateway reads.
func (c *ledgerCLI) wantBalance(want resayil.Credits) {
	c.t.Helper()
	if got := c.count(`SELECT balance_credits FROM wallets WHERE account_id = ?`, c.account); got != int64(want) {
		c.t.Fatalf("durable balance %d, want %d", got, want)
	}
	if c.wallet == nil {
		return
	}
	b, err := c.wallet.Balance(c.ctx, c.account)
	if err != nil {
		c.t.Fatal(err)
	}
	if b.Total != want {
		c.t.Fatalf("Redis balance %d, want %d", b.Total, want)
	}
}

// state is what a failed command must leave unchanged.
func (c *ledgerCLI) state() string {
	c.t.Helper()
	var s []string
	for _, q := range []string{`SELECT COUNT(*) FROM credit_ledger`, `SELECT COUNT(*) FROM audit_log`,
		`SELECT COALESCE(SUM(balance_credits), 0) FROM wallets`, `SELECT COUNT(*) FROM subscriptions`, `SELECT COUNT(*) FROM account_events`} {
		s = append(s, itoa64(c.count(q)))
	}
	return strings.Join(s, " ")
}

// events delivers the account events the gateways would receive.
func (c *ledgerCLI) events() <-chan accountevents.Event {
	c.t.Helper()
	var sub accountevents.Subscriber = accounteventssql.New(c.db.SQL, accounteventssql.Config{PollInterval: 20 * time.Millisecond})
	if c.redis != nil {
		sub = accounteventsredis.New(c.redis.Client, accounteventsredis.Config{Prefix: c.redis.Prefix})
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan accountevents.Event, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = sub.Subscribe(ctx, func(ev accountevents.Event) {
			select {
			case got <- ev:
			case <-ctx.Done():
			}
		})
	}()
	c.t.Cleanup(func() { cancel(); <-done })
	c.waitFor(got, accountevents.KindResync, 0) // the subscription is live
	return got
}

// waitFor waits, within the gateways' 5 s, for an event of kind about acct.
func (c *ledgerCLI) waitFor(got <-chan accountevents.Event, kind accountevents.Kind, acct resayil.AccountID) {
	c.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.Kind == kind && ev.Account == acct {
				return
			}
		case <-timeout:
			c.t.Fatalf("no %s event for account %d within 5s", kind, acct)
		}
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// TestLedgerCommands_VerifyCatchesCorruption: after grants, plans and
// reconcile passes the ledger verifies; a balance changed behind its back
// fails `ledger verify` with a non-zero exit, in the database and in Redis.
func TestLedgerCommands_VerifyCatchesCorruption(t *testing.T) {
	for _, b := range testenv.Backends {
		for _, withRedis := range []bool{false, true} {
			name := string(b) + "/embedded"
			if withRedis {
				name = string(b) + "/redis"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := newLedgerCLI(t, b, withRedis)
				c.mustRun("ledger verify: 1 accounts, all balanced", "ledger", "verify")
				c.mustRun("granted 300 credits", "credits", "grant", "--email", ledgerOperator, "--amount", "300", "--reason", "r")
				c.mustRun("plan pro until", "plan", "set", "--email", ledgerOperator, "--plan", "pro", "--days", "30", "--grant-credits")
				c.mustRun("ledger verify: 1 accounts, all balanced", "ledger", "verify")

				c.exec(`UPDATE wallets SET balance_credits = balance_credits - 11 WHERE account_id = ?`, c.account)
				out := c.mustFail("ledger verify: ", "ledger", "verify")
				want := "mismatch (database): account " + itoa64(int64(c.account)) + ": balance 20289, grants 20300, debits 0 (grants - debits = 20300, off by -11)"
				if !strings.Contains(out, want) {
					t.Fatalf("verify output:\n%s\nwant the line %q", out, want)
				}
				c.exec(`UPDATE wallets SET balance_credits = balance_credits + 11 WHERE account_id = ?`, c.account)
				c.mustRun("all balanced", "ledger", "verify")

				if !withRedis {
					return
				}
				key := c.wallet.Keys().Account(c.account)
				if err := c.redis.Client.HIncrBy(c.ctx, key, "balance", 1000).Err(); err != nil {
					t.Fatal(err)
				}
				out = c.mustFail("ledger verify: 1 mismatch(es) in 1 accounts", "ledger", "verify")
				want = "mismatch (redis): account " + itoa64(int64(c.account)) + ": redis balance 21300, expected 20300"
				if !strings.Contains(out, want) {
					t.Fatalf("verify output:\n%s\nwant %q", out, want)
				}
			})
		}
	}
}

// TestLedgerReconcile_AppliesWhatFailed: a grant committed with its durable
// increment but never applied to Redis (the process died in between) is
// applied by one `ledger reconcile`, and not again by the next.
func TestLedgerReconcile_AppliesWhatFailed(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			c := newLedgerCLI(t, b, true)
			c.mustRun("balance now 100", "credits", "grant", "--email", ledgerOperator, "--amount", "100", "--reason", "r")
			old := time.Now().UTC().Add(-time.Minute)
			c.exec(`INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, reason, created_at) VALUES (?, 'payment:42', 'payment', 60, '', ?)`, c.account, old)
			c.exec(`UPDATE wallets SET balance_credits = balance_credits + 60 WHERE account_id = ?`, c.account)
			c.mustRun("all balanced", "ledger", "verify") // not yet live is allowed for

			c.mustRun("ledger reconcile: 1 applied, 0 already live, 0 failed", "ledger", "reconcile")
			c.wantBalance(160)
			c.mustRun("ledger reconcile: 0 applied, 0 already live, 0 failed", "ledger", "reconcile")
			c.wantBalance(160)
			if n := c.count(`SELECT COUNT(*) FROM credit_ledger WHERE live_applied_at IS NULL`); n != 0 {
				t.Fatalf("%d rows not live after reconcile", n)
			}
			c.mustRun("all balanced", "ledger", "verify")
		})
	}
}

func TestLedgerCommands_Errors(t *testing.T) {
	c := newLedgerCLI(t, testenv.SQLiteBackend, false)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"ledger"}, ledgerUsage},
		{[]string{"ledger", "balance"}, `unknown ledger command "balance"`},
		{[]string{"ledger", "verify", "now"}, ledgerUsage},
		{[]string{"ledger", "reconcile", "--min-age", "soon"}, "invalid value"},
	} {
		if _, err := c.run(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
