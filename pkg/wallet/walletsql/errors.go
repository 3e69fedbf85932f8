package walletsql

import (
	"errors"
	"strings"

	mysqldrv "github.com/go-sql-driver/mysql"
)

// MySQL server error numbers.
const (
	mysqlDuplicateKey    = 1062
	mysqlLockWaitTimeout = 1205
	mysqlDeadlock        = 1213
)

// SQLite result codes (extended codes carry the primary code in the low
// byte).
const (
	sqliteBusy                 = 5
	sqliteLocked               = 6
	sqliteConstraint           = 19
	sqliteConstraintPrimaryKey = 1555
	sqliteConstraintUnique     = 2067
)

// sqliteError is what the pure-Go SQLite driver's errors expose.
type sqliteError interface{ Code() int }

// isDuplicate reports whether err is a unique-index violation: the marker
// of "already done" for request ids and grant references.
func isDuplicate(err error) bool {
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
			// from a CHECK or foreign key.
			msg := err.Error()
			return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "PRIMARY KEY")
		}
	}
	return false
}

// retryable reports whether a transaction failed only because of another
// one (a deadlock victim, a lock wait timeout, SQLite busy) and may succeed
// if run again.
func retryable(err error) bool {
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
