package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/database"
)

// benchRPM is the plans' rate limit during the run: far above anything the
// machine can serve, and at most one request per microsecond, the
// limiters' resolution.
const benchRPM = 50_000_000

// benchBalance funds the bench account for far more requests than a run
// makes (and stays below 2^53, exact in Redis Lua numbers).
const benchBalance = 1_000_000_000_000_000

// migrateAndSeed runs `portal-api migrate up` and `portal-api seed` on dsn,
// the way an operator prepares a database.
func migrateAndSeed(ctx context.Context, portalAPI, dsn, dataDir string) error {
	e := env(nil, "RESAYIL_DB_DSN="+dsn, "RESAYIL_DATA_DIR="+dataDir, "RESAYIL_ENV=development", "RESAYIL_LOG_LEVEL=warn")
	for _, args := range [][]string{{"migrate", "up"}, {"seed"}} {
		cmd := exec.CommandContext(ctx, portalAPI, args...)
		cmd.Env = e
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("portal-api %s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// provision creates the bench account (user, API key, Pro subscription),
// funds it through the ledger and raises every plan's rate limit. The
// ledger row is marked applied live, so a Redis wallet that loads this
// cold account takes the whole balance from the database
// (walletsql.Loader). It returns the API key.
func provision(ctx context.Context, dsn string) (string, error) {
	db, err := database.Open(ctx, dsn, database.Options{})
	if err != nil {
		return "", err
	}
	defer db.Close()
	now := time.Now().UTC()
	exec := func(q string, args ...any) (int64, error) {
		res, err := db.SQL.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", strings.Fields(q)[0], err)
		}
		id, _ := res.LastInsertId()
		return id, nil
	}
	if _, err := exec(`UPDATE subscription_plans SET rate_limit_per_minute = ?`, benchRPM); err != nil {
		return "", err
	}
	acct, err := exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user','active',?,?)`, now, now)
	if err != nil {
		return "", err
	}
	if _, err := exec(`INSERT INTO wallets (account_id, balance_credits, held_credits, updated_at) VALUES (?, ?, 0, ?)`, acct, benchBalance, now); err != nil {
		return "", err
	}
	if _, err := exec(`INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, reason, live_applied_at, created_at)
		VALUES (?, ?, 'admin', ?, 'make bench', ?, ?)`, acct, "admin:bench-"+randomBase62(16), benchBalance, now, now); err != nil {
		return "", err
	}
	email := fmt.Sprintf("bench-%s@example.com", strings.ToLower(randomBase62(8)))
	uid, err := exec(`INSERT INTO users (account_id, email, email_normalized, phone, name, password_hash, role, locale, created_at, updated_at)
		VALUES (?, ?, ?, '+96512345678', 'Bench', 'x', 'user', 'en', ?, ?)`, acct, email, email, now, now)
	if err != nil {
		return "", err
	}
	key := "sk-" + randomBase62(43)
	sum := sha256.Sum256([]byte(key))
	if _, err := exec(`INSERT INTO api_keys (account_id, user_id, name, prefix, key_hash, created_at) VALUES (?, ?, 'bench', ?, ?, ?)`,
		acct, uid, key[:10], hex.EncodeToString(sum[:]), now); err != nil {
		return "", err
	}
	if _, err := exec(`INSERT INTO subscriptions (account_id, plan_id, status, source, starts_at, expires_at, created_at, updated_at)
		SELECT ?, id, 'active', 'operator', ?, ?, ?, ? FROM subscription_plans WHERE code = 'pro'`,
		acct, now, now.Add(30*24*time.Hour), now, now); err != nil {
		return "", err
	}
	return key, nil
}

// createDatabase makes a fresh MariaDB database and returns its DSN.
func createDatabase(ctx context.Context, server, name string) (string, error) {
	sqlDB, err := database.OpenServer(ctx, server)
	if err != nil {
		return "", err
	}
	defer sqlDB.Close()
	if _, err := sqlDB.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		return "", err
	}
	return strings.TrimSuffix(server, "/") + "/" + name + "?parseTime=true", nil
}

// mariadbPID returns the process id of the MariaDB server from its pid
// file, when that names a MariaDB (or MySQL) process on this machine: a
// server elsewhere whose pid file path happens to exist here must not
// lend the benchmark some unrelated process's CPU.
func mariadbPID(ctx context.Context, server string) (int, error) {
	sqlDB, err := database.OpenServer(ctx, server)
	if err != nil {
		return 0, err
	}
	defer sqlDB.Close()
	var file string
	if err := sqlDB.QueryRowContext(ctx, "SELECT @@pid_file").Scan(&file); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, err
	}
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return 0, err
	}
	if name := strings.TrimSpace(string(comm)); name != "mariadbd" && name != "mysqld" {
		return 0, fmt.Errorf("pid %d in %s is %q, not a database server on this machine", pid, file, name)
	}
	return pid, nil
}

func dropDatabase(ctx context.Context, server, name string) error {
	sqlDB, err := database.OpenServer(ctx, server)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	_, err = sqlDB.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`")
	return err
}

// deletePrefix removes every Redis key under prefix (the run's own).
func deletePrefix(ctx context.Context, rdb *redis.Client, prefix string) (int, error) {
	n := 0
	var cursor uint64
	for range 1_000_000 { // bounded: a SCAN over far more keys than a run makes
		keys, next, err := rdb.Scan(ctx, cursor, prefix+"*", 1000).Result()
		if err != nil {
			return n, err
		}
		if len(keys) > 0 {
			if err := rdb.Unlink(ctx, keys...).Err(); err != nil {
				return n, err
			}
			n += len(keys)
		}
		if cursor = next; cursor == 0 {
			return n, nil
		}
	}
	return n, fmt.Errorf("SCAN of %s* did not end", prefix)
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
