package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/resayil"
)

// Login errors. A wrong password and an unknown e-mail get the same answer.
var (
	ErrInvalidCredentials = resayil.Errorf(resayil.EUNAUTHORIZED, "The e-mail address or password is incorrect.")
	ErrDisabled           = resayil.Errorf(resayil.EFORBIDDEN, "This account is disabled. Contact support to enable it.")
	ErrNoRefreshToken     = resayil.Errorf(resayil.EUNAUTHORIZED, "Your session has ended. Log in again.")
)

// Credentials is one login attempt.
type Credentials struct {
	Email      string
	Password   string
	RememberMe bool
	// IP and UserAgent describe the client, for throttling and the session list.
	IP        string
	UserAgent string
}

// Grant is what a successful login or refresh hands out: an access token,
// the refresh token for the cookie (the only copy: only its hash is
// stored; empty when a refresh within RefreshGrace did not rotate), and the
// session whose lifetime the cookie follows.
type Grant struct {
	Access  AccessToken
	Refresh string
	Session Session
	User    User
	// At is when the grant was made.
	At time.Time
}

// Login checks the credentials and starts a session. Failures are throttled
// per (e-mail, client address), per e-mail and per client address (a
// *ThrottledError once over a limit); an unknown e-mail costs one bcrypt
// comparison like a wrong password, so the answer and its timing do not
// tell whether the address is registered.
func (s *Service) Login(ctx context.Context, c Credentials) (Grant, error) {
	email, ok := NormalizeEmail(c.Email)
	if !ok {
		// Not an address anyone can have registered (non-ASCII, say): it
		// is refused before any lookup, so a look-alike of a stored
		// address never reaches that account.
		return Grant{}, resayil.Invalid(resayil.FieldError{Field: "email", Message: firstProblem(EmailProblem(c.Email), msgEmailInvalid)})
	}
	u, err := s.checkPassword(ctx, email, c)
	if err != nil {
		return Grant{}, err
	}
	if u.Disabled() {
		return Grant{}, ErrDisabled
	}
	return s.startSession(ctx, u, c)
}

// checkPassword holds a hashing slot while it throttles, looks the user up
// and compares the password, so that the throttle's peek-then-count is
// bounded by the gate's concurrency, and so that a known and an unknown
// e-mail wait for the gate alike.
func (s *Service) checkPassword(ctx context.Context, email string, c Credentials) (User, error) {
	release, err := s.gate.Acquire(ctx)
	if err != nil {
		return User{}, err
	}
	defer release()
	keys := newThrottleKeys(email, c.IP)
	if err := s.throttle.begin(ctx, keys); err != nil {
		return User{}, err
	}
	u, hash, err := s.store.UserCredentials(ctx, email)
	switch {
	case resayil.ErrorCode(err) == resayil.ENOTFOUND:
		dummy, err := s.dummyHash()
		if err != nil {
			return User{}, fmt.Errorf("dummy hash: %w", err)
		}
		s.hasher.Check(dummy, c.Password)
		s.authFailures.Failure(authlog.KindLogin, c.IP, email)
		return User{}, s.loginFailed(ctx, keys)
	case err != nil:
		return User{}, fmt.Errorf("load user: %w", err)
	case !s.hasher.Check(hash, c.Password):
		s.authFailures.Failure(authlog.KindLogin, c.IP, email)
		return User{}, s.loginFailed(ctx, keys)
	}
	if err := s.throttle.succeeded(ctx, keys); err != nil {
		return User{}, err
	}
	return u, nil
}

func (s *Service) loginFailed(ctx context.Context, keys throttleKeys) error {
	if err := s.throttle.failed(ctx, keys); err != nil {
		return err
	}
	return ErrInvalidCredentials
}

func (s *Service) startSession(ctx context.Context, u User, c Credentials) (Grant, error) {
	now := s.clock()
	ttl := BrowserSessionTTL
	if c.RememberMe {
		ttl = RememberTTL
	}
	sess := Session{
		ID: newSessionID(), UserID: u.ID, RememberMe: c.RememberMe,
		UserAgent: truncate(c.UserAgent, 255), IP: truncate(c.IP, 64),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(ttl),
	}
	token, hash := newRefreshToken()
	rt := RefreshToken{SessionID: sess.ID, Hash: hash, CreatedAt: now, ExpiresAt: sess.ExpiresAt}
	if err := s.store.CreateSession(ctx, sess, rt); err != nil {
		return Grant{}, fmt.Errorf("create session: %w", err)
	}
	return s.renew(u, sess, token, now)
}

// Refresh exchanges a refresh token for a new access token and a new
// refresh token. A token that was already exchanged means two parties hold
// it (a thief and the user): the whole session ends, and both must log in.
//
// Except within RefreshGrace of its rotation: every browser tab renews
// through the same refresh cookie, so two tabs (or a reload) may present
// one token at once, and the slower one finds it just rotated. It then gets
// a new access token for the same session, without a new refresh token
// (Grant.Refresh is empty: the browser already holds the one the faster
// tab received) and without counting as reuse. After the window a rotated
// token presented again still ends the session.
//
// ip is the client's address: a token no session has, and a reused one,
// are auth failures (pkg/authlog); an expired or ended session is not.
func (s *Service) Refresh(ctx context.Context, refreshToken, ip string) (Grant, error) {
	if refreshToken == "" {
		return Grant{}, ErrNoRefreshToken
	}
	now := s.clock()
	old, sess, u, err := s.store.RefreshSession(ctx, HashToken(refreshToken))
	if resayil.ErrorCode(err) == resayil.ENOTFOUND {
		s.authFailures.Failure(authlog.KindRefresh, ip, "")
		return Grant{}, ErrNoRefreshToken
	}
	if err != nil {
		return Grant{}, fmt.Errorf("load refresh token: %w", err)
	}
	if !sess.Live(now) || !now.Before(old.ExpiresAt) || u.Disabled() {
		return Grant{}, ErrNoRefreshToken
	}
	if old.RotatedAt != nil {
		if inGrace(*old.RotatedAt, now) {
			return s.renew(u, sess, "", now)
		}
		s.authFailures.Failure(authlog.KindRefresh, ip, fmt.Sprintf("user:%d", int64(sess.UserID)))
		return Grant{}, s.reused(ctx, sess, now)
	}
	token, hash := newRefreshToken()
	next := RefreshToken{SessionID: sess.ID, Hash: hash, CreatedAt: now, ExpiresAt: sess.ExpiresAt}
	if err := s.store.RotateRefreshToken(ctx, old.ID, next, now); err != nil {
		if errors.Is(err, ErrRefreshReused) {
			// Rotated by a concurrent refresh since it was read above, so
			// just now: within the grace window.
			return s.renew(u, sess, "", now)
		}
		return Grant{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	sess.LastSeenAt = now
	return s.renew(u, sess, token, now)
}

// inGrace reports whether a token rotated at rotatedAt, presented at now,
// is within RefreshGrace of its rotation.
func inGrace(rotatedAt, now time.Time) bool {
	return now.Sub(rotatedAt) < RefreshGrace
}

// renew signs an access token for the session; refresh is the new refresh
// token, or empty when the token was not rotated (the grace window).
func (s *Service) renew(u User, sess Session, refresh string, now time.Time) (Grant, error) {
	access, err := s.tokens.issue(u, sess.ID)
	if err != nil {
		return Grant{}, fmt.Errorf("sign access token: %w", err)
	}
	return Grant{Access: access, Refresh: refresh, Session: sess, User: u, At: now}, nil
}

func (s *Service) reused(ctx context.Context, sess Session, now time.Time) error {
	if err := s.store.RevokeSession(ctx, sess.ID, RevokeRefreshReuse, now); err != nil {
		return fmt.Errorf("revoke reused session: %w", err)
	}
	s.log.Warn("refresh token reused: session revoked", "session_id", sess.ID, "user_id", int64(sess.UserID))
	return ErrNoRefreshToken
}

// Logout ends the session of the access token when it is valid, else the
// session of the refresh token. Logging out twice, or without either, is
// not an error: the point is that afterwards no session is left.
func (s *Service) Logout(ctx context.Context, accessToken, refreshToken string) error {
	now := s.clock()
	if accessToken != "" {
		if _, sid, err := s.tokens.verify(accessToken); err == nil {
			return s.store.RevokeSession(ctx, sid, RevokeLogout, now)
		}
	}
	if refreshToken != "" {
		_, sess, _, err := s.store.RefreshSession(ctx, HashToken(refreshToken))
		if resayil.ErrorCode(err) == resayil.ENOTFOUND {
			return nil
		}
		if err != nil {
			return fmt.Errorf("load refresh token: %w", err)
		}
		return s.store.RevokeSession(ctx, sess.ID, RevokeLogout, now)
	}
	return nil
}

// LogoutAll ends every session of the caller's user, the current one too.
func (s *Service) LogoutAll(ctx context.Context, c Caller) (int, error) {
	return s.store.RevokeUserSessions(ctx, c.User.ID, "", RevokeLogoutAll, s.clock())
}

// PasswordChange is a request to replace the caller's password.
type PasswordChange struct {
	Current, New string
	IP           string
}

// ChangePassword replaces the password after checking the current one and
// ends every other session of the user. Wrong current passwords count as
// failed logins, so a stolen access token cannot be used to guess it.
func (s *Service) ChangePassword(ctx context.Context, c Caller, p PasswordChange) error {
	if err := passwordChangeProblems(c.User, p); err != nil {
		return err
	}
	newHash, err := s.replacePasswordHash(ctx, c, p)
	if err != nil {
		return err
	}
	return s.store.SetPassword(ctx, c.User.ID, newHash, c.SessionID, s.clock())
}

func passwordChangeProblems(u User, p PasswordChange) error {
	var fields []resayil.FieldError
	if p.Current == "" {
		fields = append(fields, resayil.FieldError{Field: "current_password", Message: "This field is required."})
	}
	personal := Personal{Email: u.Email, Name: u.Name, Phone: u.Phone}
	if msg := firstProblem(PasswordProblem(p.New), PersonalPasswordProblem(p.New, personal)); msg != "" {
		fields = append(fields, resayil.FieldError{Field: "new_password", Message: msg})
	} else if p.New == p.Current {
		fields = append(fields, resayil.FieldError{Field: "new_password", Message: "Must differ from the current password."})
	}
	if len(fields) > 0 {
		return resayil.Invalid(fields...)
	}
	return nil
}

// replacePasswordHash checks the current password and hashes the new one
// under one hashing slot: both are bcrypt work.
func (s *Service) replacePasswordHash(ctx context.Context, c Caller, p PasswordChange) (string, error) {
	release, err := s.gate.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	keys := passwordChangeKeys(c.User, p.IP)
	if err := s.throttle.begin(ctx, keys); err != nil {
		return "", err
	}
	hash, err := s.store.UserPasswordHash(ctx, c.User.ID)
	if err != nil {
		return "", fmt.Errorf("load password: %w", err)
	}
	if !s.hasher.Check(hash, p.Current) {
		s.authFailures.Failure(authlog.KindLogin, p.IP, c.User.Email)
		if err := s.throttle.failed(ctx, keys); err != nil {
			return "", err
		}
		return "", resayil.Invalid(resayil.FieldError{Field: "current_password", Message: "The current password is incorrect."})
	}
	if err := s.throttle.succeeded(ctx, keys); err != nil {
		return "", err
	}
	newHash, err := s.hasher.Hash(p.New)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return newHash, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so MySQL's utf8mb4 column accepts it.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
