package keystore_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/pkg/resayil"
)

// clock is a manual clock shared by the store and the Authenticator.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2031, 3, 4, 10, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fixture writes rows the way portal-api does, through a connection that
// the query log does not see.
type fixture struct {
	t     *testing.T
	db    *sql.DB
	clk   *clock
	plans map[resayil.TierCode]int64
}

// newFixture seeds the three plans of portal-api's seed (the gateway cannot
// import portal-api, so the rows are written here).
func newFixture(t *testing.T, db *sql.DB, clk *clock) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, clk: clk, plans: map[resayil.TierCode]int64{}}
	for _, p := range []struct {
		code, name, classes string
		rate, prio, sort    int
		cloud, ent          bool
	}{
		{"basic", "Basic", "small,medium", 10, 0, 1, false, false},
		{"pro", "Pro", "small,medium,large,cloud", 30, 1, 2, true, false},
		{"enterprise", "Enterprise", "small,medium,large,cloud", 60, 2, 3, true, true},
	} {
		f.plans[resayil.TierCode(p.code)] = f.insert(`INSERT INTO subscription_plans (code, name, price_fils, credits, duration_days,
  rate_limit_per_minute, model_classes, cloud_allowed, enterprise_models, teams_allowed, queue_priority, features, active, sort_order,
  created_at, updated_at) VALUES (?, ?, 1000, 1000, 30, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)`,
			p.code, p.name, p.rate, p.classes, p.cloud, p.ent, p.ent, p.prio, true, p.sort, f.ts(), f.ts())
	}
	return f
}

func (f *fixture) ts() time.Time { return f.clk.Now().UTC().Truncate(time.Microsecond) }

func (f *fixture) insert(q string, args ...any) int64 {
	f.t.Helper()
	res, err := f.db.ExecContext(context.Background(), q, args...)
	if err != nil {
		f.t.Fatalf("insert: %v\n%s", err, q)
	}
	id, err := res.LastInsertId()
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) exec(q string, args ...any) {
	f.t.Helper()
	if _, err := f.db.ExecContext(context.Background(), q, args...); err != nil {
		f.t.Fatalf("exec: %v\n%s", err, q)
	}
}

type user struct {
	ID      resayil.UserID
	Account resayil.AccountID
}

func (f *fixture) user() user {
	f.t.Helper()
	acct := f.insert(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, f.ts(), f.ts())
	email := fmt.Sprintf("u%d@example.com", acct)
	id := f.insert(`INSERT INTO users (account_id, email, email_normalized, phone, name, password_hash, created_at, updated_at)
VALUES (?, ?, ?, '+96550000000', 'Test', 'x', ?, ?)`, acct, email, email, f.ts(), f.ts())
	return user{ID: resayil.UserID(id), Account: resayil.AccountID(acct)}
}

func (f *fixture) teamAccount() resayil.AccountID {
	return resayil.AccountID(f.insert(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('team', 'active', ?, ?)`, f.ts(), f.ts()))
}

// key creates an API key of u drawing on acct and returns it in full.
func (f *fixture) key(u user, acct resayil.AccountID) (string, resayil.APIKeyID) {
	f.t.Helper()
	key := "sk-" + rand.Text() + rand.Text()
	id := f.insert(`INSERT INTO api_keys (account_id, user_id, name, prefix, key_hash, created_at) VALUES (?, ?, 'k', ?, ?, ?)`,
		acct, u.ID, key[:8], keyauth.HashKey(key), f.ts())
	return key, resayil.APIKeyID(id)
}

// subscribe gives acct an active subscription to plan from now until now+d.
func (f *fixture) subscribe(acct resayil.AccountID, plan resayil.TierCode, d time.Duration) (int64, time.Time) {
	f.t.Helper()
	exp := f.ts().Add(d)
	id := f.insert(`INSERT INTO subscriptions (account_id, plan_id, status, source, starts_at, expires_at, created_at, updated_at)
VALUES (?, ?, 'active', 'admin', ?, ?, ?, ?)`, acct, f.plans[plan], f.ts(), exp, f.ts(), f.ts())
	return id, exp
}

func (f *fixture) lastUsed(id resayil.APIKeyID) sql.NullTime {
	f.t.Helper()
	var at sql.NullTime
	if err := f.db.QueryRowContext(context.Background(), `SELECT last_used_at FROM api_keys WHERE id = ?`, id).Scan(&at); err != nil {
		f.t.Fatal(err)
	}
	return at
}
