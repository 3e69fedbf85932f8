package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
)

// MySQL server error numbers and SQLite result codes the adapters act on.
const (
	mysqlDuplicateKey          = 1062
	mysqlLockWaitTimeout       = 1205
	mysqlDeadlock              = 1213
	sqliteBusy                 = 5
	sqliteLocked               = 6
	sqliteConstraint           = 19
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// sqliteError is what the pure-Go SQLite driver's errors expose.
type sqliteError interface{ Code() int }

// IsDuplicate reports whether err is a unique-index violation on MySQL or
// SQLite: the marker of "already done" for request ids, grant references
// and payment transitions (invariant 2).
func IsDuplicate(err error) bool {
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlDuplicateKey
	}
	var se sqliteError
	if errors.As(err, &se) {
		switch se.Code() {
		case sqliteConstraintUnique, sqliteConstraintPrimaryKey:
			return true
		case sqliteConstraint:
			// Extended codes off: only the message tells a unique index
			// from a CHECK or a foreign key.
			msg := err.Error()
			return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "PRIMARY KEY")
		}
	}
	return false
}

// Retryable reports whether a transaction failed only because of another
// one (a deadlock victim, a lock wait timeout, SQLite busy) and may succeed
// if run again.
func Retryable(err error) bool {
	var me *mysqldrv.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlDeadlock || me.Number == mysqlLockWaitTimeout
	}
	var se sqliteError
	if errors.As(err, &se) {
		code := se.Code() & 0xff
		return code == sqliteBusy || code == sqliteLocked
	}
	return false
}

// MaxTxAttempts bounds RetryTx's attempts.
const MaxTxAttempts = 5

// RetryTx runs tx, a whole transaction from BEGIN to COMMIT, again (after a
// short jittered backoff) while it fails only because of another
// transaction (Retryable: a MySQL deadlock victim or lock wait timeout,
// SQLite busy or locked), at most MaxTxAttempts times. It is the one retry
// loop of every multi-statement transaction: RunTx's (database/sql) and
// portal-api's store (GORM). tx must have no effect outside the transaction
// except on variables it resets itself. A nested transaction (a savepoint)
// must not be retried on its own: the failure rolled back the outer one.
func RetryTx(ctx context.Context, tx func() error) error {
	for attempt := 1; ; attempt++ {
		err := tx()
		if err == nil || !Retryable(err) || attempt == MaxTxAttempts {
			return err
		}
		backoff := time.Duration(attempt*attempt)*time.Millisecond + rand.N(2*time.Millisecond)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff):
		}
	}
}

// RunTx runs fn in a database/sql transaction, retried by RetryTx. mu, when
// not nil, serialises writers of one process (SQLite allows one writer;
// queueing in Go is cheaper than its busy loop).
func RunTx(ctx context.Context, db *sql.DB, mu *sync.Mutex, fn func(*sql.Tx) error) error {
	return RetryTx(ctx, func() error { return tryTx(ctx, db, mu, fn) })
}

func tryTx(ctx context.Context, db *sql.DB, mu *sync.Mutex, fn func(*sql.Tx) error) error {
	if mu != nil {
		mu.Lock()
		defer mu.Unlock()
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
