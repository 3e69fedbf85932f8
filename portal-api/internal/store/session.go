package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
)

type sessionRow struct {
	ID           string `gorm:"primaryKey"`
	UserID       int64
	RememberMe   bool
	UserAgent    string
	IP           string `gorm:"column:ip"`
	CreatedAt    time.Time
	LastSeenAt   time.Time
	ExpiresAt    time.Time
	RevokedAt    *time.Time
	RevokeReason string
}

func (sessionRow) TableName() string { return "sessions" }

func toSessionRow(s account.Session) sessionRow {
	return sessionRow{
		ID: s.ID, UserID: int64(s.UserID), RememberMe: s.RememberMe, UserAgent: s.UserAgent, IP: s.IP,
		CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt,
		RevokedAt: s.RevokedAt, RevokeReason: string(s.RevokeReason),
	}
}

func (r sessionRow) toDomain() account.Session {
	return account.Session{
		ID: r.ID, UserID: resayil.UserID(r.UserID), RememberMe: r.RememberMe, UserAgent: r.UserAgent, IP: r.IP,
		CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt, ExpiresAt: r.ExpiresAt,
		RevokedAt: r.RevokedAt, RevokeReason: account.RevokeReason(r.RevokeReason),
	}
}

type refreshTokenRow struct {
	ID        int64 `gorm:"primaryKey"`
	SessionID string
	TokenHash string
	CreatedAt time.Time
	ExpiresAt time.Time
	RotatedAt *time.Time
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

func toRefreshTokenRow(t account.RefreshToken) refreshTokenRow {
	return refreshTokenRow{ID: t.ID, SessionID: t.SessionID, TokenHash: t.Hash, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RotatedAt: t.RotatedAt}
}

func (r refreshTokenRow) toDomain() account.RefreshToken {
	return account.RefreshToken{ID: r.ID, SessionID: r.SessionID, Hash: r.TokenHash, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RotatedAt: r.RotatedAt}
}

// sessionUserRow is one row of sessions joined with users (and, for a
// refresh, refresh_tokens), columns prefixed by table.
type sessionUserRow struct {
	T refreshTokenRow `gorm:"embedded;embeddedPrefix:t_"`
	S sessionRow      `gorm:"embedded;embeddedPrefix:s_"`
	U userRow         `gorm:"embedded;embeddedPrefix:u_"`
}

var (
	sessionCols = []string{"id", "user_id", "remember_me", "user_agent", "ip", "created_at", "last_seen_at", "expires_at", "revoked_at", "revoke_reason"}
	userCols    = []string{"id", "account_id", "email", "email_normalized", "phone", "name", "password_hash", "role", "locale", "disabled_at", "created_at", "updated_at", "whatsapp_opt_in"}
	tokenCols   = []string{"id", "session_id", "token_hash", "created_at", "expires_at", "rotated_at"}
)

func selectList(alias string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + c + " AS " + alias + "_" + c
	}
	return strings.Join(out, ", ")
}

var (
	sessionUserSQL = "SELECT " + selectList("s", sessionCols) + ", " + selectList("u", userCols) +
		" FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?"
	refreshSessionSQL = "SELECT " + selectList("t", tokenCols) + ", " + selectList("s", sessionCols) + ", " + selectList("u", userCols) +
		" FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id WHERE t.token_hash = ?"
)

var errSessionNotFound = resayil.Errorf(resayil.ENOTFOUND, "The session does not exist.")

// CreateSession implements account.Store.
func (s *Store) CreateSession(ctx context.Context, sess account.Session, t account.RefreshToken) error {
	return s.Tx(ctx, func(tx *Store) error {
		row := toSessionRow(sess)
		if err := tx.conn(ctx).Create(&row).Error; err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		tr := toRefreshTokenRow(t)
		if err := tx.conn(ctx).Create(&tr).Error; err != nil {
			return fmt.Errorf("create refresh token: %w", err)
		}
		return nil
	})
}

// SessionUser implements account.Store: one primary-key lookup joined to
// the user's primary key.
func (s *Store) SessionUser(ctx context.Context, sessionID string) (account.Session, account.User, error) {
	var rows []sessionUserRow
	if err := s.conn(ctx).Raw(sessionUserSQL, sessionID).Scan(&rows).Error; err != nil {
		return account.Session{}, account.User{}, fmt.Errorf("session by id: %w", err)
	}
	if len(rows) == 0 {
		return account.Session{}, account.User{}, errSessionNotFound
	}
	return rows[0].S.toDomain(), rows[0].U.toDomain(), nil
}

// RefreshSession implements account.Store.
func (s *Store) RefreshSession(ctx context.Context, tokenHash string) (account.RefreshToken, account.Session, account.User, error) {
	var rows []sessionUserRow
	if err := s.conn(ctx).Raw(refreshSessionSQL, tokenHash).Scan(&rows).Error; err != nil {
		return account.RefreshToken{}, account.Session{}, account.User{}, fmt.Errorf("refresh token by hash: %w", err)
	}
	if len(rows) == 0 {
		return account.RefreshToken{}, account.Session{}, account.User{}, errSessionNotFound
	}
	return rows[0].T.toDomain(), rows[0].S.toDomain(), rows[0].U.toDomain(), nil
}

// RotateRefreshToken implements account.Store. The conditional update is
// what makes rotation single-use across replicas: of two concurrent
// refreshes with one token, only one changes the row.
func (s *Store) RotateRefreshToken(ctx context.Context, id int64, next account.RefreshToken, now time.Time) error {
	return s.Tx(ctx, func(tx *Store) error {
		res := tx.conn(ctx).Model(&refreshTokenRow{}).Where("id = ? AND rotated_at IS NULL", id).Update("rotated_at", now)
		if res.Error != nil {
			return fmt.Errorf("rotate refresh token: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return account.ErrRefreshReused
		}
		row := toRefreshTokenRow(next)
		if err := tx.conn(ctx).Create(&row).Error; err != nil {
			return fmt.Errorf("create refresh token: %w", err)
		}
		if err := tx.conn(ctx).Model(&sessionRow{}).Where("id = ?", next.SessionID).Update("last_seen_at", now).Error; err != nil {
			return fmt.Errorf("touch session: %w", err)
		}
		return nil
	})
}

// RevokeSession implements account.Store.
func (s *Store) RevokeSession(ctx context.Context, id string, reason account.RevokeReason, now time.Time) error {
	err := s.conn(ctx).Model(&sessionRow{}).Where("id = ? AND revoked_at IS NULL", id).
		Updates(map[string]any{"revoked_at": now, "revoke_reason": string(reason)}).Error
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokeUserSessions implements account.Store.
func (s *Store) RevokeUserSessions(ctx context.Context, userID resayil.UserID, keepSession string, reason account.RevokeReason, now time.Time) (int, error) {
	q := s.conn(ctx).Model(&sessionRow{}).Where("user_id = ? AND revoked_at IS NULL", int64(userID))
	if keepSession != "" {
		q = q.Where("id <> ?", keepSession)
	}
	res := q.Updates(map[string]any{"revoked_at": now, "revoke_reason": string(reason)})
	if res.Error != nil {
		return 0, fmt.Errorf("revoke sessions: %w", res.Error)
	}
	return int(res.RowsAffected), nil
}

// isNotFound reports whether err is GORM's missing-row error.
func isNotFound(err error) bool { return errors.Is(err, gorm.ErrRecordNotFound) }
