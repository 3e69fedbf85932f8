package account

import (
	"context"
	"errors"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// ErrRefreshReused is returned by Store.RotateRefreshToken when the token had
// already been rotated, by an earlier or a concurrent refresh.
var ErrRefreshReused = errors.New("refresh token already rotated")

// Store is what the account service needs from the database. Lookups of
// missing rows fail with resayil.ENOTFOUND.
type Store interface {
	// CreateUser creates the user with a personal account and an empty
	// wallet, and with u.Welcome the welcome notification (outbox dedupe
	// key welcome:user:<id>), atomically. A taken e-mail (compared
	// case-insensitively) fails with resayil.ECONFLICT.
	CreateUser(ctx context.Context, u NewUser, now time.Time) (User, error)
	// UserCredentials returns the user with the e-mail (case-insensitive)
	// and their password hash.
	UserCredentials(ctx context.Context, email string) (User, string, error)
	// UserPasswordHash returns the password hash of the user.
	UserPasswordHash(ctx context.Context, id resayil.UserID) (string, error)
	// UpdateUser applies the non-nil fields of p and returns the user.
	UpdateUser(ctx context.Context, id resayil.UserID, p ProfileUpdate, now time.Time) (User, error)
	// SetPassword stores a new password hash and, in the same transaction,
	// revokes every session of the user except keepSession.
	SetPassword(ctx context.Context, id resayil.UserID, hash, keepSession string, now time.Time) error

	// CreateSession stores a new session with its first refresh token.
	CreateSession(ctx context.Context, s Session, t RefreshToken) error
	// SessionUser returns a session and its user in one indexed lookup. It
	// is called on every authenticated request, so it must not be cached: a
	// revocation has to take effect at once on every replica.
	SessionUser(ctx context.Context, sessionID string) (Session, User, error)
	// RefreshSession returns the refresh token with the hash, its session
	// and the session's user.
	RefreshSession(ctx context.Context, tokenHash string) (RefreshToken, Session, User, error)
	// RotateRefreshToken marks the token with id rotated and stores next,
	// atomically; it fails with ErrRefreshReused when the token was rotated
	// already, so two concurrent refreshes can never both succeed.
	RotateRefreshToken(ctx context.Context, id int64, next RefreshToken, now time.Time) error
	// RevokeSession ends one session; ending an ended session is not an error.
	RevokeSession(ctx context.Context, id string, reason RevokeReason, now time.Time) error
	// RevokeUserSessions ends every live session of the user except
	// keepSession (empty for none) and returns how many it ended.
	RevokeUserSessions(ctx context.Context, userID resayil.UserID, keepSession string, reason RevokeReason, now time.Time) (int, error)
}
