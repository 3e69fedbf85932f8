// Package database opens the portal's database from one DSN: a SQLite file
// (the embedded default, shared by gateway and portal-api) or MySQL/MariaDB
// (production). It owns pool sizes, SQLite pragmas and timeouts so that both
// binaries open the database the same way.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	mysqldrv "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/resayil/portal/migrations"
)

// DSN is a parsed data source: which dialect, and the driver's own DSN.
type DSN struct {
	Dialect migrations.Dialect
	// Driver is the DSN in the form the driver takes (a file path with query
	// parameters for SQLite, go-sql-driver form for MySQL).
	Driver string
	// Path is the SQLite file, empty for MySQL.
	Path string
}

// ParseDSN accepts `sqlite:PATH`, `mysql://user:pass@host:port/db?params` and
// go-sql-driver DSNs (`user:pass@tcp(host:3306)/db?parseTime=true`).
func ParseDSN(raw string) (DSN, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return DSN{}, fmt.Errorf("empty DSN")
	case strings.HasPrefix(raw, "sqlite:"):
		p := strings.TrimPrefix(strings.TrimPrefix(raw, "sqlite:"), "//")
		if p == "" {
			return DSN{}, fmt.Errorf("sqlite DSN needs a file path, as in sqlite:./data/resayil.db")
		}
		path, _, _ := strings.Cut(p, "?")
		// WAL lets the gateway read while portal-api writes; busy_timeout makes
		// writers queue instead of failing; _txlock=immediate takes the write
		// lock at BEGIN so read-then-write transactions cannot deadlock.
		drv := path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		return DSN{Dialect: migrations.SQLite, Driver: drv, Path: path}, nil
	case strings.HasPrefix(raw, "mysql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return DSN{}, fmt.Errorf("mysql URL: %w", err)
		}
		cfg := mysqldrv.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net = "tcp"
		cfg.Addr = u.Host
		if u.Port() == "" {
			cfg.Addr = u.Host + ":3306"
		}
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		if cfg.DBName == "" {
			return DSN{}, fmt.Errorf("mysql URL needs a database name, as in mysql://user:pass@host:3306/resayil")
		}
		for k, v := range u.Query() {
			if cfg.Params == nil {
				cfg.Params = map[string]string{}
			}
			cfg.Params[k] = v[0]
		}
		return mysqlDSN(cfg)
	default:
		cfg, err := mysqldrv.ParseDSN(raw)
		if err != nil {
			return DSN{}, fmt.Errorf("not sqlite:PATH, mysql://… or a MySQL DSN: %w", err)
		}
		if cfg.DBName == "" {
			return DSN{}, fmt.Errorf("MySQL DSN needs a database name, as in user:pass@tcp(host:3306)/resayil")
		}
		return mysqlDSN(cfg)
	}
}

// mysqlDSN forces the settings the code relies on: times parsed as UTC
// time.Time, utf8mb4, and statements that cannot hang forever.
func mysqlDSN(cfg *mysqldrv.Config) (DSN, error) {
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.ReadTimeout == 0 {
		cfg.ReadTimeout = 30 * time.Second
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	if _, ok := cfg.Params["time_zone"]; !ok {
		cfg.Params["time_zone"] = "'+00:00'"
	}
	cfg.Params["charset"] = "utf8mb4"
	cfg.MultiStatements = false
	// A statement with arguments in one round trip: without it the driver
	// prepares, executes and closes a server-side statement for every
	// call (three round trips; the usage writer's batch inserts carry
	// hundreds of arguments). utf8mb4 is a charset the driver escapes
	// safely.
	cfg.InterpolateParams = true
	return DSN{Dialect: migrations.MySQL, Driver: cfg.FormatDSN()}, nil
}

// Redacted returns the DSN with any password replaced, for logs.
func Redacted(raw string) string {
	d, err := ParseDSN(raw)
	if err != nil || d.Dialect != migrations.MySQL {
		return raw
	}
	cfg, err := mysqldrv.ParseDSN(d.Driver)
	if err != nil {
		return "mysql:(unparseable)"
	}
	if cfg.Passwd != "" {
		cfg.Passwd = "xxxxx"
	}
	return cfg.FormatDSN()
}

// DB is an open database with its dialect.
type DB struct {
	Gorm    *gorm.DB
	SQL     *sql.DB
	Dialect migrations.Dialect
}

// Options tune Open.
type Options struct {
	MaxOpenConns int
	MaxIdleConns int
	// DataDir is RESAYIL_DATA_DIR. With SQLite, Open makes it private
	// (SecureDataDir); it is left alone with MySQL, and when empty.
	DataDir string
}

// Open opens and pings the database. For SQLite it first makes the data
// dir private and creates the file's folder (0700) and the file (0600):
// both binaries open the database here, so whichever starts first
// creates, or tightens, the files with the right modes.
func Open(ctx context.Context, raw string, opt Options) (*DB, error) {
	d, err := ParseDSN(raw)
	if err != nil {
		return nil, err
	}
	gcfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
		PrepareStmt:            false,
	}
	var dial gorm.Dialector
	switch d.Dialect {
	case migrations.SQLite:
		if err := prepareSQLite(d.Path, opt.DataDir); err != nil {
			return nil, err
		}
		dial = sqlite.Open(d.Driver)
	default:
		dial = mysql.Open(d.Driver)
	}
	g, err := gorm.Open(dial, gcfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	maxOpen, maxIdle := opt.MaxOpenConns, opt.MaxIdleConns
	if maxOpen == 0 {
		maxOpen = 25
	}
	if maxIdle == 0 {
		maxIdle = 10
	}
	sqlDB.SetMaxOpenConns(maxOpen)
	sqlDB.SetMaxIdleConns(maxIdle)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return &DB{Gorm: g, SQL: sqlDB, Dialect: d.Dialect}, nil
}

// prepareSQLite makes the data dir and the database's files private. An
// in-memory database has no files.
func prepareSQLite(path, dataDir string) error {
	if dataDir != "" {
		if err := SecureDataDir(dataDir); err != nil {
			return err
		}
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	return prepareSQLiteFile(path)
}

// Close closes the pool.
func (db *DB) Close() error { return db.SQL.Close() }

// Ping checks the database answers within ctx.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

// Migrator returns the migrator for this database.
func (db *DB) Migrator() (*migrations.Migrator, error) {
	return migrations.New(db.SQL, db.Dialect)
}

// OpenServer opens a plain MySQL connection pool without GORM, for
// server-level statements such as CREATE DATABASE (tests, operators).
func OpenServer(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Ready reports whether the database answers and its schema is current;
// it backs both binaries' /readyz "database" check. The errors are short
// sentences safe to show to operators.
func (db *DB) Ready(ctx context.Context) error {
	if err := db.Ping(ctx); err != nil {
		return errors.New("database unreachable")
	}
	m, err := db.Migrator()
	if err != nil {
		return err
	}
	pending, err := m.Pending(ctx)
	if err != nil {
		return errors.New("cannot read schema version")
	}
	if pending {
		return errors.New("schema behind: run `portal-api migrate up`")
	}
	return nil
}
