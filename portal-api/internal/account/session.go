package account

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/google/uuid"

	"github.com/resayil/portal/pkg/resayil"
)

// Session lifetimes. A session is one login: a family of refresh tokens,
// each replacing the last. Both lifetimes run from the login and are never
// extended, so a stolen refresh token is worth at most what is left.
const (
	// RememberTTL is how long a remember-me session lasts, across browser
	// restarts (its cookie is persistent).
	RememberTTL = 30 * 24 * time.Hour
	// BrowserSessionTTL caps a session without remember-me, whose cookie
	// ends with the browser but whose browser may never end.
	BrowserSessionTTL = 12 * time.Hour
	// RefreshGrace is how long a refresh token just rotated may be
	// presented again without counting as reuse: browser tabs (and
	// reloads) renew through the one refresh cookie, so two may present
	// it at once, and the slower must not end the session.
	RefreshGrace = 30 * time.Second
	// MaxAccessTTL is the longest an access token may live.
	MaxAccessTTL = 15 * time.Minute
)

// RevokeReason says why a session ended; it is kept for the audit trail.
type RevokeReason string

// Revoke reasons.
const (
	RevokeLogout          RevokeReason = "logout"
	RevokeLogoutAll       RevokeReason = "logout_all"
	RevokePasswordChanged RevokeReason = "password_changed"
	// RevokeRefreshReuse: an already-rotated refresh token came back, so
	// someone holds a copy; the whole family is ended.
	RevokeRefreshReuse RevokeReason = "refresh_reuse"
)

// Session is one login of a user.
type Session struct {
	ID           string
	UserID       resayil.UserID
	RememberMe   bool
	UserAgent    string
	IP           string
	CreatedAt    time.Time
	LastSeenAt   time.Time
	ExpiresAt    time.Time
	RevokedAt    *time.Time
	RevokeReason RevokeReason
}

// Live reports whether the session can still be used at now.
func (s Session) Live(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// RefreshToken is one stored refresh token. Only its SHA-256 is kept
// (invariant 5); the browser holds the token itself in an HttpOnly cookie.
type RefreshToken struct {
	ID        int64
	SessionID string
	Hash      string
	CreatedAt time.Time
	ExpiresAt time.Time
	RotatedAt *time.Time
}

// newSessionID returns a random UUID (sessions.id is CHAR(36)).
func newSessionID() string { return uuid.NewString() }

// newRefreshToken returns a fresh random token and its hash.
func newRefreshToken() (token, hash string) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken returns the hex SHA-256 under which a refresh token is stored.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
