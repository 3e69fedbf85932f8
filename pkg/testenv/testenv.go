// Package testenv gives tests real infrastructure: a fresh, migrated MariaDB
// database per test, a migrated SQLite file per test, and a Redis client with
// a per-test key namespace. A missing MariaDB or Redis fails the test: it is
// never skipped (the README's `make test` starts both). Production code never
// imports this package (arch tests check it).
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/database"
)

// MariaDBServerDSN is the server-level DSN (no database) tests connect to;
// RESAYIL_TEST_MARIADB_DSN overrides it.
func MariaDBServerDSN() string {
	if v := os.Getenv("RESAYIL_TEST_MARIADB_DSN"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// RedisURL is the Redis tests use; RESAYIL_TEST_REDIS_URL overrides it.
func RedisURL() string {
	if v := os.Getenv("RESAYIL_TEST_REDIS_URL"); v != "" {
		return v
	}
	return "redis://127.0.0.1:6379/0"
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Backend names a database kind for table-driven tests over both.
type Backend string

// Database backends.
const (
	SQLiteBackend  Backend = "sqlite"
	MariaDBBackend Backend = "mariadb"
)

// Backends lists every database the product supports, for tests that must
// pass on each.
var Backends = []Backend{SQLiteBackend, MariaDBBackend}

// Open returns a fresh, migrated database of the given backend, with its DSN.
func Open(t testing.TB, b Backend) (*database.DB, string) {
	t.Helper()
	if b == MariaDBBackend {
		return MariaDB(t)
	}
	return SQLite(t)
}

// EmptyMariaDB creates an empty database and returns its DSN; it is dropped
// when the test ends.
func EmptyMariaDB(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := database.OpenServer(ctx, MariaDBServerDSN())
	if err != nil {
		t.Fatalf("testenv: MariaDB is not reachable at %s (start it with `make services`): %v", MariaDBServerDSN(), err)
	}
	name := "test_" + randomSuffix()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		admin.Close()
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Logf("testenv: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	cfg, err := mysqldrv.ParseDSN(MariaDBServerDSN())
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	cfg.DBName = name
	return cfg.FormatDSN()
}

// MariaDB returns a fresh database on the running MariaDB, migrated to the
// latest version and dropped when the test ends, and its DSN.
func MariaDB(t testing.TB) (*database.DB, string) {
	t.Helper()
	dsn := EmptyMariaDB(t)
	return openMigrated(t, dsn), dsn
}

// EmptySQLite returns the DSN of a SQLite file in the test's temp folder.
func EmptySQLite(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "resayil.db")
}

// SQLite returns a fresh, migrated SQLite database in the test's temp folder,
// and its DSN.
func SQLite(t testing.TB) (*database.DB, string) {
	t.Helper()
	dsn := EmptySQLite(t)
	return openMigrated(t, dsn), dsn
}

func openMigrated(t testing.TB, dsn string) *database.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	db, err := database.Open(ctx, dsn, database.Options{})
	if err != nil {
		t.Fatalf("testenv: open %s: %v", database.Redacted(dsn), err)
	}
	t.Cleanup(func() { _ = db.Close() })
	m, err := db.Migrator()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if _, err := m.Up(ctx); err != nil {
		t.Fatalf("testenv: migrate: %v", err)
	}
	return db
}

// RedisEnv is a Redis client and the key prefix this test owns.
type RedisEnv struct {
	Client *redis.Client
	URL    string
	// Prefix is unique per test; give it to every component under test so
	// parallel tests never see each other's keys.
	Prefix string
}

// Redis connects to the running Redis and returns a per-test prefix whose
// keys are deleted when the test ends.
func Redis(t testing.TB) *RedisEnv {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("testenv: redis URL: %v", err)
	}
	c := redis.NewClient(opt)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("testenv: Redis is not reachable at %s (start it with `make services`): %v", RedisURL(), err)
	}
	prefix := fmt.Sprintf("test:%s:", randomSuffix())
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		c.Close()
	})
	return &RedisEnv{Client: c, URL: RedisURL(), Prefix: prefix}
}
