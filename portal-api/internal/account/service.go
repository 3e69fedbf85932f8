package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/resayil"
)

// Config is what New needs.
type Config struct {
	Store  Store
	Hasher Hasher
	// JWTSecret signs access tokens (HS256).
	JWTSecret []byte
	// AccessTTL is an access token's lifetime, at most MaxAccessTTL;
	// zero means MaxAccessTTL.
	AccessTTL time.Duration
	// Limiter throttles failed logins (LoginLimits; zero limits mean
	// DefaultLoginLimits') and registrations per client address
	// (RegisterLimit; zero means DefaultRegisterLimit).
	Limiter       ratelimit.Limiter
	LoginLimits   LoginLimits
	RegisterLimit ratelimit.Limit
	// HashGate bounds the bcrypt work done at once; nil means a gate of
	// DefaultHashConcurrency slots and DefaultHashWait.
	HashGate *HashGate
	// Now is the clock; tests inject one to expire tokens and sessions
	// without sleeping. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// AuthFailures gets a line per wrong password, refresh token or reset
	// code, for fail2ban; nil writes none.
	AuthFailures *authlog.Logger
}

// Service registers users, logs them in and out and manages their sessions.
type Service struct {
	store    Store
	hasher   Hasher
	tokens   *tokens
	throttle throttle
	// limiter and registerLimit throttle registrations per client address.
	limiter       ratelimit.Limiter
	registerLimit ratelimit.Limit
	gate          *HashGate
	now           func() time.Time
	log           *slog.Logger
	// authFailures records failed logins and refreshes (nil: none);
	// refused reset codes reach the same log through
	// ResetService.OnBadCode.
	authFailures *authlog.Logger
	// dummyHash is a hash at the configured cost that a login for an
	// unknown e-mail compares against. It is made on first use, so that
	// starting the program does not spend a bcrypt hash.
	dummyHash func() (string, error)
}

// New checks cfg and builds the service.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Limiter == nil {
		return nil, errors.New("account: Store and Limiter are required")
	}
	if len(cfg.JWTSecret) < 16 {
		return nil, errors.New("account: the JWT secret must be at least 16 bytes")
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = MaxAccessTTL
	}
	if cfg.AccessTTL < 0 || cfg.AccessTTL > MaxAccessTTL {
		return nil, fmt.Errorf("account: access token lifetime %s is not within (0, %s]", cfg.AccessTTL, MaxAccessTTL)
	}
	if err := cfg.withLimitDefaults(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Hasher.Cost < bcrypt.MinCost || cfg.Hasher.Cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("account: bcrypt cost %d is not within [%d, %d]", cfg.Hasher.Cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return &Service{
		store:         cfg.Store,
		hasher:        cfg.Hasher,
		tokens:        newTokens(cfg.JWTSecret, cfg.AccessTTL, cfg.Now),
		throttle:      throttle{limiter: cfg.Limiter, limits: cfg.LoginLimits},
		limiter:       cfg.Limiter,
		registerLimit: cfg.RegisterLimit,
		gate:          cfg.HashGate,
		now:           cfg.Now,
		log:           cfg.Logger,
		authFailures:  cfg.AuthFailures,
		dummyHash: sync.OnceValues(func() (string, error) {
			return cfg.Hasher.Hash("not a real password, only spends bcrypt time")
		}),
	}, nil
}

// withLimitDefaults fills in and checks the throttle limits and the gate.
func (cfg *Config) withLimitDefaults() error {
	cfg.LoginLimits = cfg.LoginLimits.withDefaults()
	if err := cfg.LoginLimits.validate(); err != nil {
		return err
	}
	if cfg.RegisterLimit == (ratelimit.Limit{}) {
		cfg.RegisterLimit = DefaultRegisterLimit
	}
	if err := cfg.RegisterLimit.Validate(); err != nil {
		return err
	}
	if cfg.HashGate == nil {
		g, err := NewHashGate(DefaultHashConcurrency, DefaultHashWait)
		if err != nil {
			return err
		}
		cfg.HashGate = g
	}
	return nil
}

// AccessTTL is the lifetime of the access tokens the service issues.
func (s *Service) AccessTTL() time.Duration { return s.tokens.ttl }

// clock returns now as stored (dbtime.Of), so both databases return the
// same instants.
func (s *Service) clock() time.Time { return dbtime.Of(s.now()) }

// Registration is what a new user gives.
type Registration struct {
	Name, Email, Phone, Password string
	Locale                       resayil.Locale
	// IP is the client's address, for throttling.
	IP string
	// WhatsAppOptIn is the consent to WhatsApp notifications, off unless
	// given.
	WhatsAppOptIn bool
}

// Register creates a user with the user role and, in the same
// transaction, the welcome notification. Field errors use the JSON
// names of the registration request. A taken e-mail is resayil.ECONFLICT;
// too many attempts from the address, or no free hashing slot, is a
// *ThrottledError.
func (s *Service) Register(ctx context.Context, r Registration) (User, error) {
	r.Name, r.Email = strings.TrimSpace(r.Name), strings.TrimSpace(r.Email)
	if r.Locale == "" {
		r.Locale = resayil.LocaleEN
	}
	if err := registrationProblems(r); err != nil {
		return User{}, err
	}
	hash, err := s.hashForRegistration(ctx, r)
	if err != nil {
		return User{}, err
	}
	return s.store.CreateUser(ctx, NewUser{
		Email: r.Email, Name: r.Name, Phone: r.Phone, PasswordHash: hash,
		Role: resayil.RoleUser, Locale: r.Locale, WhatsAppOptIn: r.WhatsAppOptIn, Welcome: true,
	}, s.clock())
}

// registrationProblems checks every field and returns their errors at once.
func registrationProblems(r Registration) error {
	var fields []resayil.FieldError
	check := func(field, problem string) {
		if problem != "" {
			fields = append(fields, resayil.FieldError{Field: field, Message: problem})
		}
	}
	check("name", NameProblem(r.Name))
	check("email", firstProblem(TextProblem(r.Email), EmailProblem(r.Email)))
	check("phone", firstProblem(TextProblem(r.Phone), PhoneProblem(r.Phone)))
	check("password", firstProblem(PasswordProblem(r.Password),
		PersonalPasswordProblem(r.Password, Personal{Email: r.Email, Name: r.Name, Phone: r.Phone})))
	if !ValidLocale(r.Locale) {
		check("locale", "Must be one of: ar, en.")
	}
	if len(fields) > 0 {
		return resayil.Invalid(fields...)
	}
	return nil
}

// hashForRegistration takes a hashing slot first and only then counts the
// attempt against the address, so that a busy answer uses up nothing.
func (s *Service) hashForRegistration(ctx context.Context, r Registration) (string, error) {
	release, err := s.gate.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	if err := registerAllowed(ctx, s.limiter, s.registerLimit, r.IP); err != nil {
		return "", err
	}
	hash, err := s.hasher.Hash(r.Password)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

func firstProblem(problems ...string) string {
	for _, p := range problems {
		if p != "" {
			return p
		}
	}
	return ""
}

// Caller is the user an authenticated request acts for, and the session
// its access token belongs to.
type Caller struct {
	User      User
	SessionID string
}

// ErrUnauthenticated answers a missing, invalid or expired access token, or
// one whose session has ended.
var ErrUnauthenticated = resayil.Errorf(resayil.EUNAUTHORIZED, "Your session has ended or the access token is invalid. Log in again.")

// Authenticate checks an access token and that its session is still live
// and its user not disabled: one indexed lookup per request, uncached, so
// a logout elsewhere is refused at once on every replica.
func (s *Service) Authenticate(ctx context.Context, token string) (Caller, error) {
	uid, sid, err := s.tokens.verify(token)
	if err != nil {
		return Caller{}, ErrUnauthenticated
	}
	sess, u, err := s.store.SessionUser(ctx, sid)
	if resayil.ErrorCode(err) == resayil.ENOTFOUND {
		return Caller{}, ErrUnauthenticated
	}
	if err != nil {
		return Caller{}, fmt.Errorf("load session: %w", err)
	}
	if sess.UserID != uid || !sess.Live(s.clock()) || u.Disabled() {
		return Caller{}, ErrUnauthenticated
	}
	return Caller{User: u, SessionID: sid}, nil
}

// Me returns the caller's current user.
func (s *Service) Me(c Caller) User { return c.User }

// UpdateProfile changes the caller's name, phone, locale or WhatsApp
// consent. Field errors use the JSON names of the request.
func (s *Service) UpdateProfile(ctx context.Context, c Caller, p ProfileUpdate) (User, error) {
	var fields []resayil.FieldError
	if p.Name != nil {
		n := strings.TrimSpace(*p.Name)
		p.Name = &n
		if msg := NameProblem(n); msg != "" {
			fields = append(fields, resayil.FieldError{Field: "name", Message: msg})
		}
	}
	if p.Phone != nil {
		if msg := PhoneProblem(*p.Phone); msg != "" {
			fields = append(fields, resayil.FieldError{Field: "phone", Message: msg})
		}
	}
	if p.Locale != nil && !ValidLocale(*p.Locale) {
		fields = append(fields, resayil.FieldError{Field: "locale", Message: "Must be one of: ar, en."})
	}
	if len(fields) > 0 {
		return User{}, resayil.Invalid(fields...)
	}
	if p.Empty() {
		return c.User, nil
	}
	return s.store.UpdateUser(ctx, c.User.ID, p, s.clock())
}

// HashPassword hashes a password at the service's bcrypt cost, for
// operator commands that create users directly (seed).
func (s *Service) HashPassword(password string) (string, error) { return s.hasher.Hash(password) }
