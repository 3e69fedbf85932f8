package migrations_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/go-sqlite" // registers driver "sqlite"
	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/migrations"
)

// appTables is every table the migrations create, besides goose's own
// version table.
var appTables = []string{
	"account_events",
	"accounts",
	"api_keys",
	"audit_log",
	"cloud_budget_days",
	"credit_ledger",
	"notification_deliveries",
	"notification_templates",
	"notifications",
	"notifier_state",
	"password_resets",
	"payment_events",
	"payments",
	"refresh_tokens",
	"sessions",
	"subscription_plans",
	"subscriptions",
	"team_members",
	"teams",
	"topup_packs",
	"usage_hourly",
	"usage_records",
	"users",
	"wallet_holds",
	"wallets",
	"whatsapp_templates",
}

// testDB is an empty database of one dialect.
type testDB struct {
	name    string
	dialect migrations.Dialect
	db      *sql.DB
}

// backend opens an empty database of one dialect.
type backend struct {
	name    string
	dialect migrations.Dialect
	open    func(t *testing.T) *sql.DB
}

// backends are the supported databases; each test opens its own inside its
// subtest, so that a MariaDB that is down fails only the MariaDB subtests.
var backends = []backend{
	{name: "sqlite", dialect: migrations.SQLite, open: newSQLite},
	{name: "mariadb", dialect: migrations.MySQL, open: newMariaDB},
}

func (b backend) new(t *testing.T) testDB {
	t.Helper()
	return testDB{name: b.name, dialect: b.dialect, db: b.open(t)}
}

// newSQLite opens an empty SQLite file in the test's temp folder.
func newSQLite(t *testing.T) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mig.db")
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatalf("ping sqlite: %v", err)
	}
	return db
}

// mariaDBServerDSN is the server-level DSN (no database);
// RESAYIL_TEST_MARIADB_DSN overrides it, as in pkg/testenv.
func mariaDBServerDSN() string {
	if v := os.Getenv("RESAYIL_TEST_MARIADB_DSN"); v != "" {
		return v
	}
	return "root@tcp(127.0.0.1:3306)/"
}

// newMariaDB creates an empty database mig_<random> on the running MariaDB
// and drops it when the test ends. A MariaDB that cannot be reached fails the
// test: it is never skipped (docs/architecture.md "Dependency rules", last
// line).
func newMariaDB(t *testing.T) *sql.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg, err := mysqldrv.ParseDSN(mariaDBServerDSN())
	if err != nil {
		t.Fatalf("RESAYIL_TEST_MARIADB_DSN: %v", err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open MariaDB: %v", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("MariaDB is not reachable at %s (start it with `make services`): %v", cfg.Addr, err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "mig_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		admin.Close()
	})

	// The settings pkg/database forces in production: times as UTC
	// time.Time, one statement per Exec.
	cfg.DBName = name
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	cfg.MultiStatements = false
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("ping %s: %v", name, err)
	}
	return db
}

func newMigrator(t *testing.T, d testDB) *migrations.Migrator {
	t.Helper()
	m, err := migrations.New(d.db, d.dialect)
	if err != nil {
		t.Fatalf("migrations.New: %v", err)
	}
	return m
}

// migrationFiles lists the SQL files of one dialect folder, sorted.
func migrationFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".sql") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// fileVersions are the version numbers of the embedded migrations, read from
// the file names, in order.
func fileVersions(t *testing.T) []int64 {
	t.Helper()
	var vs []int64
	for _, name := range migrationFiles(t, "mysql") {
		prefix, _, _ := strings.Cut(name, "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			t.Fatalf("migration %s: version prefix: %v", name, err)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		t.Fatal("no migrations in mysql/")
	}
	return vs
}

// tables lists the tables of the database, without the engine's own.
func tables(t *testing.T, d testDB) []string {
	t.Helper()
	var q string
	switch d.dialect {
	case migrations.SQLite:
		q = `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`
	default:
		q = `SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME`
	}
	names := queryStrings(t, d.db, q)
	sort.Strings(names)
	return names
}

func queryStrings(t *testing.T, db *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatalf("scan: %v", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func withVersionTable(names []string) []string {
	out := append([]string{migrations.VersionTable}, names...)
	sort.Strings(out)
	return out
}

// checkVersions asserts what Versions, Pending and Status report when the
// database is at version current (0: nothing applied).
func checkVersions(t *testing.T, ctx context.Context, m *migrations.Migrator, current int64) {
	t.Helper()
	want := fileVersions(t)
	latest := want[len(want)-1]

	cur, lat, err := m.Versions(ctx)
	if err != nil {
		t.Fatalf("Versions: %v", err)
	}
	if cur != current || lat != latest {
		t.Errorf("Versions() = (%d, %d), want (%d, %d)", cur, lat, current, latest)
	}

	pending, err := m.Pending(ctx)
	if err != nil {
		t.Fatalf("Pending: %v", err)
	}
	if pending != (current < latest) {
		t.Errorf("Pending() = %v at version %d of %d", pending, current, latest)
	}

	st, err := m.Status(ctx)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	var got []int64
	var names []string
	for _, s := range st {
		got = append(got, s.Version)
		names = append(names, filepath.Base(s.Name))
		applied := s.Version <= current
		if s.Applied != applied {
			t.Errorf("Status: version %d (%s) Applied = %v, want %v", s.Version, s.Name, s.Applied, applied)
		}
		if applied && s.AppliedAt.IsZero() {
			t.Errorf("Status: version %d applied with a zero AppliedAt", s.Version)
		}
		if !applied && !s.AppliedAt.IsZero() {
			t.Errorf("Status: version %d not applied but AppliedAt = %v", s.Version, s.AppliedAt)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Status versions (-files +status):\n%s", diff)
	}
	if diff := cmp.Diff(migrationFiles(t, "mysql"), names); diff != "" {
		t.Errorf("Status names (-files +status):\n%s", diff)
	}
}

func TestMigrator_UpResetUp(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := b.new(t)
			ctx := context.Background()
			m := newMigrator(t, d)
			versions := fileVersions(t)
			latest := versions[len(versions)-1]

			checkVersions(t, ctx, m, 0)

			start := time.Now()
			n, err := m.Up(ctx)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("Up: %v", err)
			}
			t.Logf("%s: Up applied %d migration(s) in %v", d.name, n, took)
			if n != len(versions) {
				t.Errorf("Up applied %d migrations, want %d", n, len(versions))
			}
			if diff := cmp.Diff(withVersionTable(appTables), tables(t, d)); diff != "" {
				t.Errorf("tables after Up (-want +got):\n%s", diff)
			}
			checkVersions(t, ctx, m, latest)

			if n, err := m.Up(ctx); err != nil || n != 0 {
				t.Errorf("second Up = (%d, %v), want (0, nil)", n, err)
			}

			start = time.Now()
			if err := m.Reset(ctx); err != nil {
				t.Fatalf("Reset: %v", err)
			}
			t.Logf("%s: Reset took %v", d.name, time.Since(start))
			if diff := cmp.Diff([]string{migrations.VersionTable}, tables(t, d)); diff != "" {
				t.Errorf("tables after Reset (-want +got):\n%s", diff)
			}
			checkVersions(t, ctx, m, 0)

			start = time.Now()
			n, err = m.Up(ctx)
			if err != nil {
				t.Fatalf("Up after Reset: %v", err)
			}
			t.Logf("%s: Up after Reset applied %d migration(s) in %v", d.name, n, time.Since(start))
			if n != len(versions) {
				t.Errorf("Up after Reset applied %d migrations, want %d", n, len(versions))
			}
			if diff := cmp.Diff(withVersionTable(appTables), tables(t, d)); diff != "" {
				t.Errorf("tables after Reset and Up (-want +got):\n%s", diff)
			}
			checkVersions(t, ctx, m, latest)
		})
	}
}

func TestMigrator_DownStepByStep(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := b.new(t)
			ctx := context.Background()
			m := newMigrator(t, d)
			if _, err := m.Up(ctx); err != nil {
				t.Fatalf("Up: %v", err)
			}
			versions := fileVersions(t)
			for i := len(versions) - 1; i >= 0; i-- {
				if err := m.Down(ctx); err != nil {
					t.Fatalf("Down from version %d: %v", versions[i], err)
				}
				var prev int64
				if i > 0 {
					prev = versions[i-1]
				}
				checkVersions(t, ctx, m, prev)
			}
			if diff := cmp.Diff([]string{migrations.VersionTable}, tables(t, d)); diff != "" {
				t.Errorf("tables after every Down (-want +got):\n%s", diff)
			}
			if err := m.Down(ctx); err == nil {
				t.Error("Down with nothing applied succeeded, want an error")
			}
			if _, err := m.Up(ctx); err != nil {
				t.Fatalf("Up after Down: %v", err)
			}
			if diff := cmp.Diff(withVersionTable(appTables), tables(t, d)); diff != "" {
				t.Errorf("tables after Down and Up (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNew_UnknownDialect(t *testing.T) {
	if _, err := migrations.New(newSQLite(t), migrations.Dialect("postgres")); err == nil {
		t.Error("New with dialect postgres succeeded, want an error")
	}
}

// TestDialects_SameFiles: every version exists in both dialects, under the
// same file name (NNNNN_verb_object.sql, numbered identically; ADR 2).
func TestDialects_SameFiles(t *testing.T) {
	my, lite := migrationFiles(t, "mysql"), migrationFiles(t, "sqlite")
	if diff := cmp.Diff(my, lite); diff != "" {
		t.Errorf("migration files (-mysql +sqlite):\n%s", diff)
	}
	name := regexp.MustCompile(`^[0-9]{5}_[a-z0-9]+(_[a-z0-9]+)*\.sql$`)
	seen := map[string]string{}
	for _, f := range my {
		if !name.MatchString(f) {
			t.Errorf("migration %s: name is not NNNNN_verb_object.sql", f)
		}
		v, _, _ := strings.Cut(f, "_")
		if other, ok := seen[v]; ok {
			t.Errorf("migrations %s and %s share version %s", other, f, v)
		}
		seen[v] = f
	}
}

// column is what both dialects must agree on for a column.
type column struct {
	Name    string
	NotNull bool
}

// tableSchema is one table as far as the dialects must agree on it.
type tableSchema struct {
	Columns []column
	// Unique and Index map index names to their ordered columns; the
	// primary key is in neither.
	Unique map[string][]string
	Index  map[string][]string
}

// TestDialects_SameSchema migrates both dialects and compares what each one
// built: tables, columns in order with their nullability, and named indexes
// with their ordered columns.
func TestDialects_SameSchema(t *testing.T) {
	lite := testDB{name: "sqlite", dialect: migrations.SQLite, db: newSQLite(t)}
	maria := testDB{name: "mariadb", dialect: migrations.MySQL, db: newMariaDB(t)}
	ctx := context.Background()
	for _, d := range []testDB{lite, maria} {
		if _, err := newMigrator(t, d).Up(ctx); err != nil {
			t.Fatalf("%s: Up: %v", d.name, err)
		}
	}

	liteSchema := sqliteSchema(t, lite.db)
	mariaSchema := mariaDBSchema(t, maria.db)
	if diff := cmp.Diff(mapKeys(mariaSchema), mapKeys(liteSchema)); diff != "" {
		t.Errorf("tables (-mariadb +sqlite):\n%s", diff)
	}
	for _, name := range mapKeys(mariaSchema) {
		ls, ok := liteSchema[name]
		if !ok {
			continue
		}
		if diff := cmp.Diff(mariaSchema[name], ls); diff != "" {
			t.Errorf("table %s (-mariadb +sqlite):\n%s", name, diff)
		}
	}
	if len(mariaSchema) != len(appTables) {
		t.Errorf("compared %d tables, want %d", len(mariaSchema), len(appTables))
	}
}

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sqliteSchema reads the app tables of a SQLite database.
func sqliteSchema(t *testing.T, db *sql.DB) map[string]tableSchema {
	t.Helper()
	out := map[string]tableSchema{}
	for _, name := range queryStrings(t, db, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> ?`, migrations.VersionTable) {
		ts := tableSchema{Unique: map[string][]string{}, Index: map[string][]string{}}

		// table_xinfo, not table_info: it lists generated columns too
		// (users.phone_reversed).
		rows, err := db.Query(`SELECT name, type, "notnull", pk FROM pragma_table_xinfo(?) ORDER BY cid`, name)
		if err != nil {
			t.Fatalf("table_info(%s): %v", name, err)
		}
		var pkCols []string
		var pkType string
		for rows.Next() {
			var col, typ string
			var notNull, pk int
			if err := rows.Scan(&col, &typ, &notNull, &pk); err != nil {
				t.Fatalf("scan table_info(%s): %v", name, err)
			}
			if pk > 0 {
				pkCols = append(pkCols, col)
				pkType = typ
			}
			ts.Columns = append(ts.Columns, column{Name: col, NotNull: notNull == 1})
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("table_info(%s): %v", name, err)
		}
		rows.Close()
		// A single INTEGER PRIMARY KEY is the rowid: SQLite never stores
		// NULL in it, though table_info reports notnull 0 (other primary
		// keys can hold NULL in SQLite unless declared NOT NULL).
		if len(pkCols) == 1 && strings.EqualFold(pkType, "INTEGER") {
			for i := range ts.Columns {
				if ts.Columns[i].Name == pkCols[0] {
					ts.Columns[i].NotNull = true
				}
			}
		}

		// Every index but the primary key's: origin 'c' (CREATE INDEX) and
		// 'u' (an inline UNIQUE, which would show up under an sqlite_autoindex
		// name and so fail the comparison with MariaDB's named index).
		type index struct {
			name   string
			unique bool
		}
		var indexes []index
		rows, err = db.Query(`SELECT name, "unique" FROM pragma_index_list(?) WHERE origin <> 'pk'`, name)
		if err != nil {
			t.Fatalf("index_list(%s): %v", name, err)
		}
		for rows.Next() {
			var ix index
			if err := rows.Scan(&ix.name, &ix.unique); err != nil {
				t.Fatalf("scan index_list(%s): %v", name, err)
			}
			indexes = append(indexes, ix)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("index_list(%s): %v", name, err)
		}
		rows.Close()
		for _, ix := range indexes {
			cols := queryStrings(t, db, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, ix.name)
			if ix.unique {
				ts.Unique[ix.name] = cols
			} else {
				ts.Index[ix.name] = cols
			}
		}
		out[name] = ts
	}
	return out
}

// mariaDBSchema reads the app tables of the current MariaDB database.
func mariaDBSchema(t *testing.T, db *sql.DB) map[string]tableSchema {
	t.Helper()
	out := map[string]tableSchema{}
	rows, err := db.Query(`SELECT TABLE_NAME, COLUMN_NAME, IS_NULLABLE FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> ? ORDER BY TABLE_NAME, ORDINAL_POSITION`, migrations.VersionTable)
	if err != nil {
		t.Fatalf("columns: %v", err)
	}
	for rows.Next() {
		var table, col, nullable string
		if err := rows.Scan(&table, &col, &nullable); err != nil {
			t.Fatalf("scan columns: %v", err)
		}
		ts, ok := out[table]
		if !ok {
			ts = tableSchema{Unique: map[string][]string{}, Index: map[string][]string{}}
		}
		ts.Columns = append(ts.Columns, column{Name: col, NotNull: nullable == "NO"})
		out[table] = ts
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("columns: %v", err)
	}
	rows.Close()

	// InnoDB creates an index for a foreign key that no index starts with,
	// named after the constraint; SQLite has no such implicit index, so
	// those are not part of the comparison.
	implicit := map[string]bool{}
	for _, k := range queryStrings(t, db, `SELECT CONCAT(TABLE_NAME, '.', CONSTRAINT_NAME) FROM information_schema.TABLE_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = DATABASE() AND CONSTRAINT_TYPE = 'FOREIGN KEY'`) {
		implicit[k] = true
	}

	rows, err = db.Query(`SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS
		WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> ? AND INDEX_NAME <> 'PRIMARY'
		ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`, migrations.VersionTable)
	if err != nil {
		t.Fatalf("statistics: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, index, col string
		var nonUnique int
		if err := rows.Scan(&table, &index, &nonUnique, &col); err != nil {
			t.Fatalf("scan statistics: %v", err)
		}
		if nonUnique == 1 && implicit[table+"."+index] {
			continue
		}
		ts := out[table]
		if nonUnique == 0 {
			ts.Unique[index] = append(ts.Unique[index], col)
		} else {
			ts.Index[index] = append(ts.Index[index], col)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("statistics: %v", err)
	}
	return out
}

// TestBackfill_UsageHourly: records written before migration 3 are summed
// into usage_hourly by the migration, per account, UTC hour of created_at,
// model, backend and key (NULL as 0), errors being the records whose status
// is not 'ok'; and their held_credits read 0, "unknown". On both dialects,
// with created_at written as the services write it (a UTC time.Time, whole
// microseconds).
func TestBackfill_UsageHourly(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := b.new(t)
			ctx := context.Background()
			m := newMigrator(t, d)
			if _, err := m.UpTo(ctx, 2); err != nil {
				t.Fatalf("UpTo 2: %v", err)
			}
			type key struct {
				account int64
				hour    time.Time
				model   string
				backend string
				apiKey  int64
			}
			type sums struct{ requests, prompt, completion, credits, errors int64 }
			want := map[key]sums{}
			base := time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)
			for i := range 90 {
				at := base.Add(time.Duration(i*13)*time.Minute + time.Duration(i*7919)*time.Microsecond)
				if i%10 == 0 {
					at = at.Truncate(time.Hour) // on the hour itself
				} else if i%10 == 1 {
					at = at.Truncate(time.Hour).Add(time.Hour - time.Microsecond) // its last microsecond
				}
				var apiKey any
				k := key{account: int64(1 + i%3), hour: at.Truncate(time.Hour), model: []string{"llama3.2:3b", "qwen2.5:7b"}[i/2%2],
					backend: []string{"local", "cloud"}[i/5%2]}
				if i%4 != 0 {
					k.apiKey = int64(10 + i%2)
					apiKey = k.apiKey
				}
				status := []string{"ok", "ok", "upstream_error", "client_closed", "ok"}[i%5]
				prompt, completion, credits := int64(10+i), int64(3*i), int64(1+i%7)
				if _, err := d.db.ExecContext(ctx, `INSERT INTO usage_records (request_id, account_id, api_key_id, model, backend,
  prompt_tokens, completion_tokens, total_tokens, credits, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					fmt.Sprintf("r-%d", i), k.account, apiKey, k.model, k.backend, prompt, completion, prompt+completion, credits, status, at); err != nil {
					t.Fatalf("insert record %d: %v", i, err)
				}
				s := want[k]
				s.requests++
				s.prompt += prompt
				s.completion += completion
				s.credits += credits
				if status != "ok" {
					s.errors++
				}
				want[k] = s
			}
			if _, err := m.Up(ctx); err != nil {
				t.Fatalf("Up: %v", err)
			}

			rows, err := d.db.QueryContext(ctx, `SELECT account_id, hour_start, model, backend, api_key_id, requests, prompt_tokens, completion_tokens, credits, errors FROM usage_hourly`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			got := map[key]sums{}
			for rows.Next() {
				var k key
				var s sums
				if err := rows.Scan(&k.account, &k.hour, &k.model, &k.backend, &k.apiKey, &s.requests, &s.prompt, &s.completion, &s.credits, &s.errors); err != nil {
					t.Fatal(err)
				}
				k.hour = k.hour.UTC()
				if _, ok := got[k]; ok {
					t.Errorf("two usage_hourly rows for %+v", k)
				}
				got[k] = s
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(key{}, sums{})); diff != "" {
				t.Errorf("usage_hourly after the backfill (-records +rollup):\n%s", diff)
			}
			var unknown int
			if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM usage_records WHERE held_credits = 0`).Scan(&unknown); err != nil || unknown != 90 {
				t.Errorf("records with held_credits 0 (unknown): %d, %v; want 90", unknown, err)
			}
		})
	}
}
