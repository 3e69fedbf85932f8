package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/resayil"
)

// Password reset by a code sent on WhatsApp.
//
// A request names an account by its e-mail or its phone. For an existing,
// enabled user it stores a six-digit code (its keyed hash only, see
// codeHasher), valid ResetCodeTTL, and in the same transaction writes one
// outbox row (event EventPasswordResetCode, the code as its one parameter)
// that the notification sender delivers as the WhatsApp authentication
// template, in the user's language. It is the one message sent to a user
// who has not opted in to WhatsApp: they asked for it, and without it they
// cannot get back in. A new request ends the user's earlier codes. The
// outbox row holds the code in clear until it is sent; the sender blanks
// it then.
//
// Confirming with the code, the same identifier and a new password sets
// the password and ends every session of the user. Each code allows
// MaxResetAttempts tries, right or wrong, and works once.
//
// Nothing the API answers tells whether an account exists: a request is
// answered alike for every identifier (and not sooner than AnswerTime,
// which hides the writes only an existing account causes), and every
// refused code (unknown account, wrong, expired, used, ended) is the one
// ErrInvalidResetCode. So a phone number shared by several users resets
// none of them: picking one would be a guess, and answering otherwise
// would tell that the number is shared.
const (
	// ResetCodeTTL is how long a code is valid.
	ResetCodeTTL = 10 * time.Minute
	// MaxResetAttempts is how many tries a code allows.
	MaxResetAttempts = 5
	// EventPasswordResetCode is the outbox event of a code.
	EventPasswordResetCode = "password_reset_code"
	// RevokePasswordReset ends the sessions of a user whose password was reset.
	RevokePasswordReset RevokeReason = "password_reset"
)

// ResetLimits throttle password resets; the limiter is GCRA, as for logins.
type ResetLimits struct {
	// PerIdentifier limits requests for one e-mail address or one phone
	// number, from anywhere. It is counted by what the request names, not
	// by the user found, so an unknown address is limited alike: a limit
	// that only existing accounts reached would tell which exist. A user
	// reached by both their e-mail and their phone may so get this many
	// codes through each.
	PerIdentifier ratelimit.Limit
	// PerIP limits requests from one client address, over all identifiers.
	PerIP ratelimit.Limit
	// ConfirmPerIP limits confirmation attempts from one client address.
	ConfirmPerIP ratelimit.Limit
}

// DefaultResetLimits allow 3 requests an hour per e-mail or phone, 10 an
// hour per client address, and 20 confirmation attempts an hour per client
// address.
var DefaultResetLimits = ResetLimits{
	PerIdentifier: ratelimit.Limit{Requests: 3, Per: time.Hour},
	PerIP:         ratelimit.Limit{Requests: 10, Per: time.Hour},
	ConfirmPerIP:  ratelimit.Limit{Requests: 20, Per: time.Hour},
}

// DefaultResetAnswerTime is the least time a reset request, or a refused
// code, takes to answer.
const DefaultResetAnswerTime = 250 * time.Millisecond

func (l ResetLimits) withDefaults() ResetLimits {
	if l.PerIdentifier == (ratelimit.Limit{}) {
		l.PerIdentifier = DefaultResetLimits.PerIdentifier
	}
	if l.PerIP == (ratelimit.Limit{}) {
		l.PerIP = DefaultResetLimits.PerIP
	}
	if l.ConfirmPerIP == (ratelimit.Limit{}) {
		l.ConfirmPerIP = DefaultResetLimits.ConfirmPerIP
	}
	return l
}

// ResetIdentity names the account of a reset: exactly one of Email and
// Phone is given (non-nil).
type ResetIdentity struct {
	Email *string
	Phone *string
}

// Reset is one stored code.
type Reset struct {
	ID        int64
	UserID    resayil.UserID
	CodeHash  string
	Attempts  int
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// NewReset is a code to store, with the outbox row that carries it.
type NewReset struct {
	UserID    resayil.UserID
	AccountID resayil.AccountID
	CodeHash  string
	ExpiresAt time.Time
	// Code goes into the outbox row's parameters only, never into
	// password_resets.
	Code string
}

// ErrAmbiguousPhone is returned by ResetStore.UserForReset when several
// users have the phone number.
var ErrAmbiguousPhone = errors.New("several users have this phone number")

// ErrResetUsed is returned by ResetStore.CompleteReset when the code was
// used, or ended by a newer one, since it was checked.
var ErrResetUsed = errors.New("password reset already used")

// ResetStore is what password reset needs from the database. Lookups of
// missing rows fail with resayil.ENOTFOUND.
type ResetStore interface {
	// UserForReset returns the user with the e-mail (compared as logins
	// do) or the phone number (exactly); ErrAmbiguousPhone when several
	// users have the phone.
	UserForReset(ctx context.Context, id ResetIdentity) (User, error)
	// CreateReset, in one transaction: locks the user, ends every unused
	// code of theirs, stores r, and writes the outbox row carrying the code.
	CreateReset(ctx context.Context, r NewReset, now time.Time) error
	// LatestReset returns the user's newest code not yet used or ended.
	LatestReset(ctx context.Context, user resayil.UserID) (Reset, error)
	// TakeResetAttempt counts one try at the code if it is unused, not
	// expired at now and has fewer than max tries, and reports whether it
	// did. The conditional update keeps the count exact under concurrency:
	// parallel guesses get max tries in all.
	TakeResetAttempt(ctx context.Context, id int64, max int, now time.Time) (bool, error)
	// CompleteReset, in one transaction: marks the code used (ErrResetUsed
	// when it already was), stores the password hash, and ends every
	// session of the user; it returns how many sessions it ended.
	CompleteReset(ctx context.Context, id int64, user resayil.UserID, passwordHash string, now time.Time) (int, error)
}

// ResetFailure is one refused code, for the authentication-failure log.
type ResetFailure struct {
	// IP is the client's address.
	IP string
	// Reason says why, for operators: "unknown_account", "no_code",
	// "ended" (expired, used or out of tries) or "wrong_code".
	Reason string
}

// ResetConfig is what NewResetService needs.
type ResetConfig struct {
	Store  ResetStore
	Hasher Hasher
	// Secret is the key material of code hashes (RESAYIL_JWT_SECRET).
	Secret  []byte
	Limiter ratelimit.Limiter
	// Limits' zero fields mean DefaultResetLimits'.
	Limits ResetLimits
	// HashGate bounds bcrypt work; share the account service's. Nil means
	// a gate of DefaultHashConcurrency slots.
	HashGate *HashGate
	// AnswerTime is the least time a request, or a refused code, takes to
	// answer; negative means none. Zero means DefaultResetAnswerTime.
	AnswerTime time.Duration
	// Now is the clock of expiry; default time.Now. AnswerTime is measured
	// on the real clock.
	Now    func() time.Time
	Logger *slog.Logger
}

// ResetService resets passwords by WhatsApp codes.
type ResetService struct {
	// OnBadCode, when set, is told of every refused code. It is the one
	// place that reports reset failures as authentication failures (the
	// fail2ban log); nil reports nothing. Set it before serving.
	OnBadCode func(ctx context.Context, f ResetFailure)

	store      ResetStore
	hasher     Hasher
	codes      codeHasher
	limiter    ratelimit.Limiter
	limits     ResetLimits
	gate       *HashGate
	answerTime time.Duration
	now        func() time.Time
	log        *slog.Logger
}

// NewResetService checks cfg and builds the service.
func NewResetService(cfg ResetConfig) (*ResetService, error) {
	if cfg.Store == nil || cfg.Limiter == nil {
		return nil, errors.New("account: the reset service needs a Store and a Limiter")
	}
	if len(cfg.Secret) < 16 {
		return nil, errors.New("account: the reset-code secret must be at least 16 bytes")
	}
	cfg.Limits = cfg.Limits.withDefaults()
	for _, l := range []ratelimit.Limit{cfg.Limits.PerIdentifier, cfg.Limits.PerIP, cfg.Limits.ConfirmPerIP} {
		if err := l.Validate(); err != nil {
			return nil, err
		}
	}
	if cfg.HashGate == nil {
		g, err := NewHashGate(DefaultHashConcurrency, DefaultHashWait)
		if err != nil {
			return nil, err
		}
		cfg.HashGate = g
	}
	switch {
	case cfg.AnswerTime == 0:
		cfg.AnswerTime = DefaultResetAnswerTime
	case cfg.AnswerTime < 0:
		cfg.AnswerTime = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	codes, err := newCodeHasher(cfg.Secret)
	if err != nil {
		return nil, err
	}
	return &ResetService{
		store: cfg.Store, hasher: cfg.Hasher, codes: codes,
		limiter: cfg.Limiter, limits: cfg.Limits, gate: cfg.HashGate,
		answerTime: cfg.AnswerTime, now: cfg.Now, log: cfg.Logger,
	}, nil
}

// ResetRequest asks for a code.
type ResetRequest struct {
	ResetIdentity
	// IP is the client's address, for throttling.
	IP string
}

// Request sends a code to the account's WhatsApp number if the identity
// names one enabled user, and otherwise does nothing; either way it
// returns nil, after at least the answer time. Malformed fields are
// resayil.EINVALID (JSON names of the request); too many requests for the
// identifier or from the address are a *ThrottledError.
func (s *ResetService) Request(ctx context.Context, r ResetRequest) error {
	id, key, err := normalizeIdentity(r.ResetIdentity)
	if err != nil {
		return err
	}
	if err := s.allow(ctx, "reset:ip:"+r.IP, s.limits.PerIP); err != nil {
		return err
	}
	if err := s.allow(ctx, key, s.limits.PerIdentifier); err != nil {
		return err
	}
	start := time.Now()
	defer s.pad(ctx, start)
	return s.request(ctx, id)
}

// request does what Request does for every identifier alike until the
// lookup: the code and its hash are made before it.
func (s *ResetService) request(ctx context.Context, id ResetIdentity) error {
	code := newResetCode()
	u, err := s.store.UserForReset(ctx, id)
	hash := s.codes.hash(u.ID, code)
	switch {
	case resayil.ErrorCode(err) == resayil.ENOTFOUND:
		s.log.Info("password reset requested for no account", "by", id.kind())
		return nil
	case errors.Is(err, ErrAmbiguousPhone):
		s.log.Warn("password reset requested for a phone number several users share: none is reset")
		return nil
	case err != nil:
		return fmt.Errorf("find the user to reset: %w", err)
	case u.Disabled():
		s.log.Info("password reset requested for a disabled user", "user_id", int64(u.ID))
		return nil
	}
	now := dbtime.Of(s.now())
	if err := s.store.CreateReset(ctx, NewReset{
		UserID: u.ID, AccountID: u.AccountID, CodeHash: hash, ExpiresAt: now.Add(ResetCodeTTL), Code: code,
	}, now); err != nil {
		return fmt.Errorf("store the reset code: %w", err)
	}
	s.log.Info("password reset code queued", "user_id", int64(u.ID), "by", id.kind())
	return nil
}

// kind says which identifier was given, for logs (never its value).
func (id ResetIdentity) kind() string {
	if id.Email != nil {
		return "email"
	}
	return "phone"
}

// Messages of the identity's field errors.
const (
	msgIdentityMissing = "Give your e-mail address or your phone number."
	msgIdentityBoth    = "Give your e-mail address or your phone number, not both."
)

// normalizeIdentity checks that exactly one identifier is given and well
// formed, and returns it normalised with its throttle key. The key hashes
// the value, so that Redis never holds addresses or numbers in clear.
func normalizeIdentity(id ResetIdentity) (ResetIdentity, string, error) {
	fields := identityProblems(id)
	if len(fields) > 0 {
		return ResetIdentity{}, "", resayil.Invalid(fields...)
	}
	if id.Email != nil {
		email, _ := NormalizeEmail(*id.Email)
		return ResetIdentity{Email: &email}, "reset:email:" + shortHash(email), nil
	}
	phone := strings.TrimSpace(*id.Phone)
	return ResetIdentity{Phone: &phone}, "reset:phone:" + shortHash(phone), nil
}

func identityProblems(id ResetIdentity) []resayil.FieldError {
	switch {
	case id.Email == nil && id.Phone == nil:
		return []resayil.FieldError{{Field: "email", Message: msgIdentityMissing}, {Field: "phone", Message: msgIdentityMissing}}
	case id.Email != nil && id.Phone != nil:
		return []resayil.FieldError{{Field: "phone", Message: msgIdentityBoth}}
	case id.Email != nil:
		e := *id.Email
		if msg := firstProblem(TextProblem(e), EmailProblem(e)); msg != "" {
			return []resayil.FieldError{{Field: "email", Message: msg}}
		}
	default:
		p := strings.TrimSpace(*id.Phone)
		if msg := firstProblem(TextProblem(p), PhoneProblem(p)); msg != "" {
			return []resayil.FieldError{{Field: "phone", Message: msg}}
		}
	}
	return nil
}

func shortHash(s string) string { return HashToken(s)[:32] }

// allow counts one request for key, or refuses it with a *ThrottledError.
func (s *ResetService) allow(ctx context.Context, key string, limit ratelimit.Limit) error {
	d, err := s.limiter.Allow(ctx, key, limit)
	if err != nil {
		return fmt.Errorf("password reset throttle: %w", err)
	}
	if !d.Allowed {
		return &ThrottledError{Wait: d.RetryAfter, err: resayil.Errorf(resayil.ERATELIMITED,
			"Too many password reset attempts. Try again in %d minute(s).", minutes(d.RetryAfter))}
	}
	return nil
}

// pad waits until the answer time has passed since start (real time), so
// that an answer's timing does not tell which path it took.
func (s *ResetService) pad(ctx context.Context, start time.Time) {
	d := s.answerTime - time.Since(start)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
