package database_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/testenv"
)

func TestParseDSN(t *testing.T) {
	cases := []struct {
		in      string
		dialect migrations.Dialect
		want    string // substring of the driver DSN
	}{
		{"sqlite:./data/resayil.db", migrations.SQLite, "./data/resayil.db?_pragma=busy_timeout"},
		{"sqlite:/tmp/x.db", migrations.SQLite, "journal_mode(WAL)"},
		{"user:pass@tcp(db:3306)/resayil?parseTime=true", migrations.MySQL, "user:pass@tcp(db:3306)/resayil"},
		{"mysql://user:p%40ss@db:3307/resayil", migrations.MySQL, "user:p@ss@tcp(db:3307)/resayil"},
		{"mysql://user:pass@db/resayil", migrations.MySQL, "tcp(db:3306)/resayil"},
	}
	for _, c := range cases {
		d, err := database.ParseDSN(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		if d.Dialect != c.dialect || !strings.Contains(d.Driver, c.want) {
			t.Fatalf("%s: got %+v, want dialect %s containing %q", c.in, d, c.dialect, c.want)
		}
		if d.Dialect == migrations.MySQL && !strings.Contains(d.Driver, "parseTime=true") {
			t.Fatalf("%s: MySQL DSN must parse times: %s", c.in, d.Driver)
		}
	}
	for _, bad := range []string{"", "sqlite:", "mysql://u:p@db:3306/", "user@tcp(db)/", "not a dsn"} {
		if _, err := database.ParseDSN(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRedacted(t *testing.T) {
	got := database.Redacted("mysql://user:hunter22@db:3306/resayil")
	if strings.Contains(got, "hunter22") {
		t.Fatalf("password leaked: %s", got)
	}
}

func TestOpen_BothBackends(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			if err := db.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			var n int64
			if err := db.Gorm.Raw("SELECT COUNT(*) FROM accounts").Scan(&n).Error; err != nil {
				t.Fatalf("migrated schema missing: %v", err)
			}
			m, err := db.Migrator()
			if err != nil {
				t.Fatal(err)
			}
			if pending, err := m.Pending(context.Background()); err != nil || pending {
				t.Fatalf("pending=%v err=%v after testenv migration", pending, err)
			}
		})
	}
}

func TestIsDuplicateAndRunTx(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			ctx := context.Background()
			insert := func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO cloud_budget_days (day, cap_requests, used_requests, updated_at) VALUES ('2026-01-01', 5, 0, ?)`, time.Now().UTC())
				return err
			}
			if err := database.RunTx(ctx, db.SQL, nil, insert); err != nil {
				t.Fatal(err)
			}
			err := database.RunTx(ctx, db.SQL, &sync.Mutex{}, insert)
			if !database.IsDuplicate(err) || database.Retryable(err) {
				t.Fatalf("second insert: duplicate=%v retryable=%v (%v)", database.IsDuplicate(err), database.Retryable(err), err)
			}
			if database.IsDuplicate(errors.New("UNIQUE constraint failed")) {
				t.Fatal("a plain error is not a driver duplicate")
			}
			boom := errors.New("boom")
			calls := 0
			if err := database.RunTx(ctx, db.SQL, nil, func(*sql.Tx) error { calls++; return boom }); !errors.Is(err, boom) || calls != 1 {
				t.Fatalf("a non-retryable error runs once: %v after %d calls", err, calls)
			}
		})
	}
}
