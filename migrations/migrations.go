// Package migrations holds the versioned SQL schema of the portal for
// MySQL/MariaDB and SQLite, embedded in the binary and applied with goose.
// Both dialects carry the same version numbers and produce the same tables,
// columns and unique indexes (migrations_test.go compares them). Nothing in a
// production path uses GORM's AutoMigrate.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
)

//go:embed mysql/*.sql sqlite/*.sql
var files embed.FS

// Dialect selects the SQL files and goose's version-table dialect.
type Dialect string

// Supported dialects.
const (
	MySQL  Dialect = "mysql"
	SQLite Dialect = "sqlite"
)

// VersionTable is the table goose records applied versions in.
const VersionTable = "schema_migrations"

// Status is one migration's state.
type Status struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Migrator applies the embedded migrations to one database.
type Migrator struct {
	p *goose.Provider
}

// New returns a Migrator for db in the given dialect.
func New(db *sql.DB, d Dialect) (*Migrator, error) {
	var gd goose.Dialect
	switch d {
	case MySQL:
		gd = goose.DialectMySQL
	case SQLite:
		gd = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("unknown dialect %q", d)
	}
	sub, err := fs.Sub(files, string(d))
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(gd, db, sub,
		goose.WithTableName(VersionTable),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return &Migrator{p: p}, nil
}

// Up applies every pending migration and returns how many it applied.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	res, err := m.p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate up: %w", err)
	}
	return len(res), nil
}

// UpTo applies the pending migrations up to and including version, and
// returns how many it applied.
func (m *Migrator) UpTo(ctx context.Context, version int64) (int, error) {
	res, err := m.p.UpTo(ctx, version)
	if err != nil {
		return len(res), fmt.Errorf("migrate up to %d: %w", version, err)
	}
	return len(res), nil
}

// Down rolls back the most recent migration.
func (m *Migrator) Down(ctx context.Context) error {
	if _, err := m.p.Down(ctx); err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// Reset rolls back every migration.
func (m *Migrator) Reset(ctx context.Context) error {
	if _, err := m.p.DownTo(ctx, 0); err != nil {
		return fmt.Errorf("migrate reset: %w", err)
	}
	return nil
}

// Pending reports whether the database is behind the embedded migrations.
func (m *Migrator) Pending(ctx context.Context) (bool, error) {
	return m.p.HasPending(ctx)
}

// Versions returns the database's current version and the latest embedded one.
func (m *Migrator) Versions(ctx context.Context) (current, latest int64, err error) {
	return m.p.GetVersions(ctx)
}

// Status lists every embedded migration with whether it is applied.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	st, err := m.p.Status(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{
			Version:   s.Source.Version,
			Name:      s.Source.Path,
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt,
		})
	}
	return out, nil
}
