// Package outbox writes rows of the notifications outbox (migrations
// 00001_init.sql, table notifications), which portal-api's notifier sends.
// Whoever decides that something must be told writes the row in the same
// transaction as the change it tells of, so the two commit together; the
// row's unique dedupe key (uq_notifications_dedupe) makes it once, however
// many writers, retries or replays reach the same decision.
//
// It is the one insert of the table for code on database/sql: the usage
// writer and the SQL wallet (balance alerts), the cloud budget (admin
// alerts). The statement is each dialect's "insert unless the key exists":
// ON DUPLICATE KEY UPDATE with no change on MySQL, ON CONFLICT DO NOTHING
// on SQLite. Not INSERT IGNORE, which would also swallow other errors (a
// value too long) and lose the row silently.
package outbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/resayil"
)

// Audiences (notifications.audience).
const (
	// AudienceUser rows go to the account's people.
	AudienceUser = "user"
	// AudienceAdmins rows go to the operators.
	AudienceAdmins = "admins"
)

// Notification is one outbox row to write.
type Notification struct {
	// DedupeKey is unique per thing told, at most 191 bytes.
	DedupeKey string
	// Event names the template (notification_templates.event).
	Event    string
	Audience string
	// Account is the account the row is about (0: none).
	Account resayil.AccountID
	// User is the recipient (0: none, or see below).
	User resayil.UserID
	// Locale is the recipient's language; "" means the user's own (see
	// below) or else "en".
	Locale string
	// Payload is stored as JSON in notifications.payload; the notifier
	// reads its "params", the template's positional parameters.
	Payload any
}

// Params is the payload of a row that carries only its template's
// parameters.
type Params struct {
	Params []string `json:"params"`
}

// Execer is what Insert writes through: a *sql.Tx, or the connection of a
// GORM transaction (gorm.DB.Statement.ConnPool).
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// onDuplicate ends the INSERT so that an existing dedupe key is skipped
// and not counted as affected.
func onDuplicate(d migrations.Dialect) string {
	if d == migrations.MySQL {
		return ` ON DUPLICATE KEY UPDATE dedupe_key = dedupe_key`
	}
	return ` ON CONFLICT (dedupe_key) DO NOTHING`
}

// Insert writes n, due at once, unless a row with its dedupe key exists,
// and reports whether it inserted. A row for the audience "user" with an
// Account and no User gets the account's user (the owner of a personal
// account, uq_users_account) as user_id and, when Locale is empty, that
// user's locale, as portal-api's billing rows do; a team account has no
// such user and keeps user_id NULL and "en" (the notifier finds its
// people by the account). now is stored as given.
func Insert(ctx context.Context, ex Execer, d migrations.Dialect, n Notification, now time.Time) (bool, error) {
	switch {
	case n.DedupeKey == "" || len(n.DedupeKey) > 191:
		return false, errors.New("outbox: dedupe key must be 1 to 191 bytes")
	case n.Event == "" || n.Audience == "":
		return false, errors.New("outbox: event and audience are required")
	}
	payload, err := json.Marshal(n.Payload)
	if err != nil {
		return false, fmt.Errorf("outbox: payload of %s: %w", n.DedupeKey, err)
	}
	var account, user sql.NullInt64
	if n.Account != 0 {
		account = sql.NullInt64{Int64: int64(n.Account), Valid: true}
	}
	if n.User != 0 {
		user = sql.NullInt64{Int64: int64(n.User), Valid: true}
	}
	locale := n.Locale
	if locale == "" {
		locale = string(resayil.LocaleEN)
	}
	// user_id and locale as given, or looked up in the same statement.
	userExpr, userArgs := "?", []any{user}
	localeExpr, localeArgs := "?", []any{locale}
	if n.Audience == AudienceUser && n.Account != 0 && n.User == 0 {
		userExpr, userArgs = `(SELECT id FROM users WHERE account_id = ?)`, []any{int64(n.Account)}
		if n.Locale == "" {
			localeExpr = `COALESCE((SELECT locale FROM users WHERE account_id = ?), ?)`
			localeArgs = []any{int64(n.Account), locale}
		}
	}
	q := `INSERT INTO notifications (dedupe_key, event, audience, account_id, user_id, locale, payload, status, attempts, next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ` + userExpr + `, ` + localeExpr + `, ?, 'pending', 0, ?, ?, ?)` + onDuplicate(d)
	args := make([]any, 0, 12)
	args = append(args, n.DedupeKey, n.Event, n.Audience, account)
	args = append(args, userArgs...)
	args = append(args, localeArgs...)
	args = append(args, string(payload), now, now, now)
	res, err := ex.ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("outbox: insert %s: %w", n.DedupeKey, err)
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("outbox: insert %s: %w", n.DedupeKey, err)
	}
	// A key already in the outbox affects no row: MySQL counts a no-op ON
	// DUPLICATE KEY UPDATE as 0 (package database leaves clientFoundRows
	// off), SQLite's DO NOTHING changes nothing.
	return rows == 1, nil
}
