// Package gatewaytest builds the gateway's test world: plans, accounts,
// API keys, subscriptions and funded wallets in a real database, and the
// whole gateway program on a loopback listener. Production code never
// imports it (arch tests check it).
package gatewaytest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// Plans inserts the three tiers that `portal-api seed` writes, Basic, Pro
// and Enterprise (the portal's seeder owns them in production; the gateway
// only reads them).
func Plans(t testing.TB, db *database.DB) {
	t.Helper()
	now := time.Now().UTC()
	rows := []struct {
		code, name, classes string
		rpm                 int
		cloud, ent          bool
		prio, order         int
	}{
		{"basic", "Basic", "small,medium", 10, false, false, 0, 1},
		{"pro", "Pro", "small,medium,large,cloud", 30, true, false, 1, 2},
		{"enterprise", "Enterprise", "small,medium,large,cloud", 60, true, true, 2, 3},
	}
	for _, r := range rows {
		exec(t, db, `INSERT INTO subscription_plans (code, name, price_fils, credits, duration_days, rate_limit_per_minute, model_classes,
			cloud_allowed, enterprise_models, teams_allowed, queue_priority, features, active, sort_order, created_at, updated_at)
			VALUES (?, ?, 1000, 1000, 30, ?, ?, ?, ?, ?, ?, '[]', ?, ?, ?, ?)`,
			r.code, r.name, r.rpm, r.classes, r.cloud, r.ent, r.ent, r.prio, true, r.order, now, now)
	}
}

// SetRateLimit changes a plan's requests per minute (tests that need a
// limit above their concurrency).
func SetRateLimit(t testing.TB, db *database.DB, plan string, rpm int) {
	t.Helper()
	exec(t, db, `UPDATE subscription_plans SET rate_limit_per_minute = ? WHERE code = ?`, rpm, plan)
}

// User is a test account with one API key.
type User struct {
	UserID  resayil.UserID
	Account resayil.AccountID
	KeyID   resayil.APIKeyID
	Key     string
}

// NewUser creates an account, its wallet, a user and an API key; plan is
// "" (no subscription) or a plan code subscribed until expires.
func NewUser(t testing.TB, db *database.DB, plan string, expires time.Time) User {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	var u User
	res, err := db.SQL.ExecContext(ctx, `INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user','active',?,?)`, now, now)
	must(t, err)
	acct, _ := res.LastInsertId()
	u.Account = resayil.AccountID(acct)
	exec(t, db, `INSERT INTO wallets (account_id, balance_credits, held_credits, updated_at) VALUES (?, 0, 0, ?)`, acct, now)
	email := fmt.Sprintf("u%d-%s@example.com", acct, randomBase62(6))
	res, err = db.SQL.ExecContext(ctx, `INSERT INTO users (account_id, email, email_normalized, phone, name, password_hash, role, locale, created_at, updated_at)
		VALUES (?, ?, ?, '+96512345678', 'Test', 'x', 'user', 'en', ?, ?)`, acct, email, email, now, now)
	must(t, err)
	uid, _ := res.LastInsertId()
	u.UserID = resayil.UserID(uid)
	u.Key = "sk-" + randomBase62(43)
	sum := sha256.Sum256([]byte(u.Key))
	res, err = db.SQL.ExecContext(ctx, `INSERT INTO api_keys (account_id, user_id, name, prefix, key_hash, created_at) VALUES (?, ?, 'test', ?, ?, ?)`,
		acct, uid, u.Key[:10], hex.EncodeToString(sum[:]), now)
	must(t, err)
	kid, _ := res.LastInsertId()
	u.KeyID = resayil.APIKeyID(kid)
	if plan != "" {
		Subscribe(t, db, u.Account, plan, expires)
	}
	return u
}

// Subscribe gives the account an active subscription to plan.
func Subscribe(t testing.TB, db *database.DB, acct resayil.AccountID, plan string, expires time.Time) {
	t.Helper()
	now := time.Now().UTC()
	exec(t, db, `UPDATE subscriptions SET status = 'ended', ended_at = ? WHERE account_id = ? AND status = 'active'`, now, acct)
	exec(t, db, `INSERT INTO subscriptions (account_id, plan_id, status, source, starts_at, expires_at, created_at, updated_at)
		SELECT ?, id, 'active', 'operator', ?, ?, ?, ? FROM subscription_plans WHERE code = ?`, acct, now, expires.UTC(), now, now, plan)
}

// Fund grants credits through the wallet the gateway uses, once per call.
func Fund(t testing.TB, w wallet.Wallet, acct resayil.AccountID, amount resayil.Credits) {
	t.Helper()
	applied, err := w.Credit(context.Background(), wallet.Grant{Reference: "admin:test-" + randomBase62(12), Account: acct, Amount: amount, Kind: "admin", Reason: "test"})
	must(t, err)
	if !applied {
		t.Fatal("grant not applied")
	}
}

// CommitGrant writes the durable part of a grant (its credit_ledger row and
// the wallets increment) the way portal-api does, with walletsql.CreditTx in
// one transaction, and returns the grant. live marks the row live-applied;
// in Redis mode the caller credits walletredis first and marks it then.
func CommitGrant(t testing.TB, db *database.DB, acct resayil.AccountID, amount resayil.Credits, live bool) wallet.Grant {
	t.Helper()
	ctx := context.Background()
	g := wallet.Grant{Reference: "admin:test-" + randomBase62(12), Account: acct, Amount: amount, Kind: "admin", Reason: "test"}
	now := time.Now().UTC()
	err := database.RunTx(ctx, db.SQL, nil, func(tx *sql.Tx) error {
		applied, err := walletsql.CreditTx(ctx, tx, db.Dialect, g, live, now)
		if err == nil && !applied {
			err = fmt.Errorf("grant %s not applied", g.Reference)
		}
		return err
	})
	must(t, err)
	return g
}

// RevokeKey marks the key revoked in the database.
func RevokeKey(t testing.TB, db *database.DB, id resayil.APIKeyID) {
	t.Helper()
	exec(t, db, `UPDATE api_keys SET revoked_at = ? WHERE id = ?`, time.Now().UTC(), id)
}

// UsageCount counts usage records of an account.
func UsageCount(t testing.TB, db *database.DB, acct resayil.AccountID) int {
	t.Helper()
	var n int
	must(t, db.SQL.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM usage_records WHERE account_id = ?`, acct).Scan(&n))
	return n
}

func exec(t testing.TB, db *database.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randomBase62(n int) string {
	b := make([]byte, n)
	for i := range b {
		x, _ := rand.Int(rand.Reader, big.NewInt(62))
		b[i] = base62[x.Int64()]
	}
	return string(b)
}
