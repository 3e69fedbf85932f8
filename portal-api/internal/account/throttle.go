package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/resayil"
)

// LoginLimits are the limits of failed password checks (logins and
// password changes). The limiter is GCRA: once a limit's burst is spent,
// one more attempt is allowed every Per/Requests.
type LoginLimits struct {
	// PerAccountAndIP is the tight limit: failures at one account from one
	// client address. A stranger guessing from their own address locks only
	// that address out of that account, never the owner elsewhere.
	PerAccountAndIP ratelimit.Limit
	// PerAccount is the ceiling over every address, much higher than the
	// tight limit: it bounds guessing spread over many addresses.
	PerAccount ratelimit.Limit
	// PerIP bounds one address spraying guesses over many accounts.
	PerIP ratelimit.Limit
}

// DefaultLoginLimits allow, within 15 minutes, 5 failures at one account
// from one address, 50 at one account from everywhere, and 20 from one
// address over all accounts.
var DefaultLoginLimits = LoginLimits{
	PerAccountAndIP: ratelimit.Limit{Requests: 5, Per: 15 * time.Minute},
	PerAccount:      ratelimit.Limit{Requests: 50, Per: 15 * time.Minute},
	PerIP:           ratelimit.Limit{Requests: 20, Per: 15 * time.Minute},
}

// DefaultRegisterLimit allows 10 registrations per client address per hour.
var DefaultRegisterLimit = ratelimit.Limit{Requests: 10, Per: time.Hour}

func (l LoginLimits) withDefaults() LoginLimits {
	if l.PerAccountAndIP == (ratelimit.Limit{}) {
		l.PerAccountAndIP = DefaultLoginLimits.PerAccountAndIP
	}
	if l.PerAccount == (ratelimit.Limit{}) {
		l.PerAccount = DefaultLoginLimits.PerAccount
	}
	if l.PerIP == (ratelimit.Limit{}) {
		l.PerIP = DefaultLoginLimits.PerIP
	}
	return l
}

func (l LoginLimits) validate() error {
	for _, lim := range []ratelimit.Limit{l.PerAccountAndIP, l.PerAccount, l.PerIP} {
		if err := lim.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// ThrottledError is a refused attempt: too many failed logins, too many
// registrations, or no password-hashing slot free. It carries the resayil
// error (ERATELIMITED) and how long to wait, for the Retry-After header.
type ThrottledError struct {
	Wait time.Duration
	err  *resayil.Error
}

func (e *ThrottledError) Error() string { return e.err.Error() }

// Unwrap lets resayil.ErrorCode find ERATELIMITED.
func (e *ThrottledError) Unwrap() error { return e.err }

// RetryAfter is the wait in whole seconds, at least 1.
func (e *ThrottledError) RetryAfter() time.Duration {
	return time.Duration(math.Max(1, math.Ceil(e.Wait.Seconds()))) * time.Second
}

func loginThrottled(wait time.Duration) error {
	return &ThrottledError{Wait: wait, err: resayil.Errorf(resayil.ERATELIMITED,
		"Too many failed login attempts. Try again in %d minute(s).", minutes(wait))}
}

func registerThrottled(wait time.Duration) error {
	return &ThrottledError{Wait: wait, err: resayil.Errorf(resayil.ERATELIMITED,
		"Too many registrations from your network. Try again in %d minute(s).", minutes(wait))}
}

func minutes(d time.Duration) int { return int(math.Max(1, math.Ceil(d.Minutes()))) }

// throttle counts failed password checks per (account, client address),
// per account and per client address.
//
// The (account, address) key is taken before the password is checked and
// forgotten after a success, so it counts attempts and stays exact under
// concurrency: fifty parallel guesses from one address still get five. The
// account and address keys are only peeked before and counted after a
// failure: a successful login does not use up a shared (NAT) address's
// allowance, and the owner's own logins do not use up the account's
// ceiling. Parallel requests can overshoot those two by their concurrency
// (bounded by the hashing gate) once, after which they refuse.
type throttle struct {
	limiter ratelimit.Limiter
	limits  LoginLimits
}

// throttleKeys are the limiter keys of one attempt. The e-mail is hashed so
// that Redis never holds addresses in clear.
type throttleKeys struct{ pair, account, ip string }

func newThrottleKeys(normalizedEmail, ip string) throttleKeys {
	account := sha256.Sum256([]byte(normalizedEmail))
	pair := sha256.Sum256([]byte(normalizedEmail + "\x00" + ip))
	return throttleKeys{
		pair:    "login:pair:" + hex.EncodeToString(pair[:16]),
		account: "login:email:" + hex.EncodeToString(account[:16]),
		ip:      "login:ip:" + ip,
	}
}

// passwordChangeKeys are the keys of a password change: the login keys of
// the user's address, except that the tight limit is per user from any
// address. Only a holder of the user's access token gets this far, so no
// stranger can use it to lock the owner out, while a thief with a stolen
// token gains nothing by changing addresses between guesses.
func passwordChangeKeys(u User, ip string) throttleKeys {
	email, ok := NormalizeEmail(u.Email)
	if !ok {
		// An address stored before e-mails were ASCII-only: the user id
		// has the same role, and no e-mail can be spelt like it.
		email = fmt.Sprintf("user id %d", int64(u.ID))
	}
	k := newThrottleKeys(email, ip)
	k.pair = fmt.Sprintf("password:user:%d", int64(u.ID))
	return k
}

// begin admits an attempt or returns a *ThrottledError. The peeks come
// first so that a refused attempt does not use up the tight limit.
func (t throttle) begin(ctx context.Context, k throttleKeys) error {
	for _, p := range []struct {
		key   string
		limit ratelimit.Limit
	}{{k.ip, t.limits.PerIP}, {k.account, t.limits.PerAccount}} {
		d, err := t.limiter.Peek(ctx, p.key, p.limit)
		if err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
		if !d.Allowed {
			return loginThrottled(d.RetryAfter)
		}
	}
	d, err := t.limiter.Allow(ctx, k.pair, t.limits.PerAccountAndIP)
	if err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	if !d.Allowed {
		return loginThrottled(d.RetryAfter)
	}
	return nil
}

// failed counts a wrong password against the client address and the account.
func (t throttle) failed(ctx context.Context, k throttleKeys) error {
	if _, err := t.limiter.Allow(ctx, k.ip, t.limits.PerIP); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	if _, err := t.limiter.Allow(ctx, k.account, t.limits.PerAccount); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}

// succeeded forgets the failures of this account from this address. The
// account's ceiling is not reset: the owner logging in must not hand
// whoever is guessing from elsewhere a fresh allowance.
func (t throttle) succeeded(ctx context.Context, k throttleKeys) error {
	if err := t.limiter.Reset(ctx, k.pair); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}

// registerAllowed counts one registration attempt from the client address.
// Every attempt counts, the ones answered 409 too: that answer tells
// whether an address is registered.
func registerAllowed(ctx context.Context, l ratelimit.Limiter, limit ratelimit.Limit, ip string) error {
	d, err := l.Allow(ctx, "register:ip:"+ip, limit)
	if err != nil {
		return fmt.Errorf("registration throttle: %w", err)
	}
	if !d.Allowed {
		return registerThrottled(d.RetryAfter)
	}
	return nil
}
