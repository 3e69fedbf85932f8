// Package store is portal-api's GORM implementation of every feature's
// storage interface. Row structs with gorm tags live here and nowhere else;
// features see domain types. Tx runs a function in one transaction so a
// feature can write several tables atomically (payment + ledger + outbox).
//
// Queries are GORM's where GORM expresses them: row locks with
// clause.Locking (forUpdate, forShare), upserts with clause.OnConflict. Two
// kinds stay SQL text: reads that join or aggregate, and the conditional
// UPDATEs whose affected-row count carries an exactly-once or
// never-below-zero rule (each says so); a grant's durable part is
// walletsql.CreditTx, shared with the embedded wallet.
package store

import (
	"context"
	"errors"

	"gorm.io/gorm"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/database"
)

// Store reads and writes the portal's tables.
type Store struct {
	db      *gorm.DB
	dialect migrations.Dialect
	// inTx is true for a Store bound to a transaction (Tx's argument).
	inTx bool
	// hooks are shared by the Store and every Store Tx binds.
	hooks *hooks
}

// New wraps an open database.
func New(db *database.DB) *Store {
	return &Store{db: db.Gorm, dialect: db.Dialect, hooks: &hooks{}}
}

// Tx runs fn in one transaction on a Store bound to it. The transaction
// runs again from the start when it lost to another (database.RetryTx: a
// MySQL deadlock or lock wait timeout, SQLite busy or locked), so fn must
// reset what it captures. Called on a Store already in a transaction, fn
// runs in a savepoint of it and is not retried on its own: the outermost
// Tx retries the whole.
func (s *Store) Tx(ctx context.Context, fn func(tx *Store) error) error {
	run := func() error {
		return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(&Store{db: tx, dialect: s.dialect, inTx: true, hooks: s.hooks})
		})
	}
	if s.inTx {
		return run()
	}
	return database.RetryTx(ctx, run)
}

func (s *Store) conn(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// IsDuplicate reports whether err is a unique-index violation on MySQL
// or SQLite.
func IsDuplicate(err error) bool {
	return errors.Is(err, gorm.ErrDuplicatedKey) || database.IsDuplicate(err)
}
