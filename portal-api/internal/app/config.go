package app

import (
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/clientip"
	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
)

// Config is portal-api's whole configuration, read from RESAYIL_* variables
// by cmd/portal-api. Defaults make the embedded mode need no variable.
type Config struct {
	config.Common
	NotifyConfig
	CapacityConfig
	OverviewConfig
	Addr          string        `env:"PORTAL_ADDR" envDefault:":8081"`
	JWTSecret     config.Secret `env:"JWT_SECRET"`
	AdminEmail    string        `env:"ADMIN_EMAIL" envDefault:"admin@resayil.local"`
	AdminPassword config.Secret `env:"ADMIN_PASSWORD"`
	// AdminPhone is the seeded admin's WhatsApp number (E.164), where admin
	// alerts go; empty leaves resayil.PlaceholderPhone, never messaged.
	AdminPhone string `env:"ADMIN_PHONE"`
	// BcryptCost is lowered only by tests; production refuses less than 12.
	BcryptCost  int    `env:"BCRYPT_COST" envDefault:"12"`
	CORSOrigins string `env:"CORS_ORIGINS"`
	// StaticDir serves the built SPA from the same origin: by default the
	// folder `npm run build` writes (relative to the working directory,
	// the repository root under make run); a folder without index.html
	// serves nothing.
	StaticDir string `env:"STATIC_DIR" envDefault:"frontend/dist"`
	// AccessTokenTTL is the lifetime of access tokens, at most 15 minutes.
	AccessTokenTTL time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	// TrustedProxies lists the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For header names the client, for login and registration
	// throttling.
	TrustedProxies string `env:"TRUSTED_PROXIES"`
	// Login throttling counts failed password checks per LoginWindow: at
	// one account from one client address (the tight limit), at one account
	// from every address (the ceiling), and from one address over every
	// account.
	LoginLimit        int           `env:"LOGIN_LIMIT" envDefault:"5"`
	LoginAccountLimit int           `env:"LOGIN_ACCOUNT_LIMIT" envDefault:"50"`
	LoginIPLimit      int           `env:"LOGIN_IP_LIMIT" envDefault:"20"`
	LoginWindow       time.Duration `env:"LOGIN_WINDOW" envDefault:"15m"`
	// RegisterLimit registrations per client address per RegisterWindow.
	// Tests raise it: they register many users from one address.
	RegisterLimit  int           `env:"REGISTER_LIMIT" envDefault:"10"`
	RegisterWindow time.Duration `env:"REGISTER_WINDOW" envDefault:"1h"`
	// Password reset by a WhatsApp code: requests per e-mail address or
	// phone number and per client address, and confirmation attempts per
	// client address, each per PasswordResetWindow. A request, or a refused
	// code, answers no sooner than PasswordResetAnswerTime, so that its
	// timing does not tell whether an account exists (0s: at once).
	PasswordResetLimit          int           `env:"PASSWORD_RESET_LIMIT" envDefault:"3"`
	PasswordResetIPLimit        int           `env:"PASSWORD_RESET_IP_LIMIT" envDefault:"10"`
	PasswordResetConfirmIPLimit int           `env:"PASSWORD_RESET_CONFIRM_IP_LIMIT" envDefault:"20"`
	PasswordResetWindow         time.Duration `env:"PASSWORD_RESET_WINDOW" envDefault:"1h"`
	PasswordResetAnswerTime     time.Duration `env:"PASSWORD_RESET_ANSWER_TIME" envDefault:"250ms"`
	// HashConcurrency bcrypt hashes or checks run at once; a request
	// waits at most HashWait for a slot, then gets 429.
	HashConcurrency int           `env:"HASH_CONCURRENCY" envDefault:"2"`
	HashWait        time.Duration `env:"HASH_WAIT" envDefault:"500ms"`
	// MyFatoorahBaseURL is the MyFatoorah v2 API: the live Kuwait API by
	// default, https://apitest.myfatoorah.com for sandbox accounts, or the
	// development fake that `make run` starts when no token is set.
	MyFatoorahBaseURL string `env:"MYFATOORAH_BASE_URL" envDefault:"https://api.myfatoorah.com"`
	// MyFatoorahToken is the API token; production refuses to start
	// without it.
	MyFatoorahToken config.Secret `env:"MYFATOORAH_TOKEN"`
	// MyFatoorahWebhookSecret verifies the MyFatoorah-Signature of webhook
	// V2 events; without it every webhook is refused (payments are then
	// confirmed by the browser's return and the reconciliation job).
	MyFatoorahWebhookSecret config.Secret `env:"MYFATOORAH_WEBHOOK_SECRET"`
	// MyFatoorahReturnLimit is how many GetPaymentStatus calls one client
	// IP may cause through the (unauthenticated) browser return per
	// ReturnLimitWindow; beyond it the browser is redirected as pending
	// without asking.
	MyFatoorahReturnLimit int `env:"MYFATOORAH_RETURN_LIMIT" envDefault:"20"`
	// MaxPendingCheckouts is how many checkouts (MyFatoorah invoices) an
	// account may have waiting for payment at once.
	MaxPendingCheckouts int `env:"MAX_PENDING_CHECKOUTS" envDefault:"5"`
	// ModelsFile and RestrictedModels are the gateway's: the same
	// variables with the same defaults (pkg/deploy checks), so that
	// GET /api/v1/models lists the catalog the gateway serves.
	ModelsFile       string `env:"MODELS_FILE" envDefault:"config/models.yaml"`
	RestrictedModels string `env:"RESTRICTED_MODELS" envDefault:"glm-4.7-flash,bge-m3,nomic-embed-text"`
	// GatewayPublicURL is the gateway's public base URL, shown in the web
	// app's code examples (GET /api/v1/config).
	GatewayPublicURL string `env:"GATEWAY_PUBLIC_URL" envDefault:"http://localhost:8080/v1"`
	// AuthFailureLog is the file that gets a line per failed login,
	// refresh, reset code or internal token (pkg/authlog), for fail2ban;
	// empty writes none.
	AuthFailureLog string `env:"AUTH_FAILURE_LOG"`
	// InternalToken authenticates the internal endpoints
	// (/api/v1/internal/…, fail2ban's ban reports); empty turns them off.
	InternalToken config.Secret `env:"INTERNAL_TOKEN"`
}

// MinInternalToken is the shortest RESAYIL_INTERNAL_TOKEN accepted.
const MinInternalToken = 32

// CatalogCheckInterval is how often, at most, portal-api looks whether the
// model catalog file changed.
const CatalogCheckInterval = 5 * time.Second

// Restricted returns RestrictedModels as a list.
func (c *Config) Restricted() []string { return catalog.SplitList(c.RestrictedModels) }

// ReturnLimitWindow is the window of MyFatoorahReturnLimit: the limit is a
// burst that refills evenly over it.
const ReturnLimitWindow = 10 * time.Minute

// MinProductionBcryptCost is the floor production enforces.
const MinProductionBcryptCost = 12

// Validate checks every variable; the error names the first bad one.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if err := config.ValidateAddr("PORTAL_ADDR", c.Addr); err != nil {
		return err
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		return config.Invalid("BCRYPT_COST", "must be between 4 and 31, got %d", c.BcryptCost)
	}
	if account.EmailProblem(c.AdminEmail) != "" {
		return config.Invalid("ADMIN_EMAIL", "must be an e-mail address of ASCII characters, got %q", c.AdminEmail)
	}
	if c.AdminPhone != "" {
		if c.AdminPhone == resayil.PlaceholderPhone {
			return config.Invalid("ADMIN_PHONE", "is the placeholder %s, which is never messaged: leave it empty or give the admin's number", resayil.PlaceholderPhone)
		}
		if msg := account.PhoneProblem(c.AdminPhone); msg != "" {
			return config.Invalid("ADMIN_PHONE", "must be a phone number in international format (E.164) such as +96512345678, got %q", c.AdminPhone)
		}
	}
	if err := c.validateThrottles(); err != nil {
		return err
	}
	for _, o := range c.Origins() {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" {
			return config.Invalid("CORS_ORIGINS", "must be a comma-separated list of origins such as http://localhost:5173, got %q", o)
		}
	}
	if c.AccessTokenTTL <= 0 || c.AccessTokenTTL > 15*time.Minute {
		return config.Invalid("ACCESS_TOKEN_TTL", "must be a duration from 1s to 15m, got %s", c.AccessTokenTTL)
	}
	if _, err := c.ProxyPrefixes(); err != nil {
		return err
	}
	if u, err := url.Parse(c.MyFatoorahBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return config.Invalid("MYFATOORAH_BASE_URL", "must be an absolute http(s) URL such as https://api.myfatoorah.com, got %q", c.MyFatoorahBaseURL)
	}
	if c.MyFatoorahReturnLimit < 1 || c.MyFatoorahReturnLimit > 10000 {
		return config.Invalid("MYFATOORAH_RETURN_LIMIT", "must be a whole number from 1 to 10000, got %d", c.MyFatoorahReturnLimit)
	}
	if strings.TrimSpace(c.ModelsFile) == "" {
		return config.Invalid("MODELS_FILE", "must name the model catalog file")
	}
	if u, err := url.Parse(c.GatewayPublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return config.Invalid("GATEWAY_PUBLIC_URL", "must be an absolute http(s) URL such as https://api.example.com/v1, got %q", c.GatewayPublicURL)
	}
	if c.MaxPendingCheckouts < 1 || c.MaxPendingCheckouts > 100 {
		return config.Invalid("MAX_PENDING_CHECKOUTS", "must be a whole number from 1 to 100, got %d", c.MaxPendingCheckouts)
	}
	if c.InternalToken != "" && len(c.InternalToken) < MinInternalToken {
		return config.Invalid("INTERNAL_TOKEN", "must be at least %d bytes (openssl rand -hex 32), or empty to turn the internal endpoints off", MinInternalToken)
	}
	if c.IsProduction() {
		if len(c.JWTSecret) < 32 {
			return config.Invalid("JWT_SECRET", "is required in production and must be at least 32 bytes")
		}
		if c.BcryptCost < MinProductionBcryptCost {
			return config.Invalid("BCRYPT_COST", "must be at least %d in production, got %d", MinProductionBcryptCost, c.BcryptCost)
		}
		if c.AdminPassword != "" && len(c.AdminPassword) < 10 {
			return config.Invalid("ADMIN_PASSWORD", "must be at least 10 characters")
		}
		// Production binaries never talk to the development fake: they need
		// the real API's token, over https.
		if c.MyFatoorahToken == "" {
			return config.Invalid("MYFATOORAH_TOKEN", "is required in production: the MyFatoorah API token (MyFatoorah portal, Integration Settings)")
		}
		if !strings.HasPrefix(c.MyFatoorahBaseURL, "https://") {
			return config.Invalid("MYFATOORAH_BASE_URL", "must be https in production, got %q", c.MyFatoorahBaseURL)
		}
	}
	if err := c.validateCapacity(); err != nil {
		return err
	}
	return c.validateNotify(c.IsProduction())
}

// validateThrottles checks the login and registration limits and the
// hashing gate.
func (c *Config) validateThrottles() error {
	for _, v := range []struct {
		name string
		n    int
		per  time.Duration
	}{
		{"LOGIN_LIMIT", c.LoginLimit, c.LoginWindow},
		{"LOGIN_ACCOUNT_LIMIT", c.LoginAccountLimit, c.LoginWindow},
		{"LOGIN_IP_LIMIT", c.LoginIPLimit, c.LoginWindow},
		{"REGISTER_LIMIT", c.RegisterLimit, c.RegisterWindow},
		{"PASSWORD_RESET_LIMIT", c.PasswordResetLimit, c.PasswordResetWindow},
		{"PASSWORD_RESET_IP_LIMIT", c.PasswordResetIPLimit, c.PasswordResetWindow},
		{"PASSWORD_RESET_CONFIRM_IP_LIMIT", c.PasswordResetConfirmIPLimit, c.PasswordResetWindow},
	} {
		if v.per <= 0 {
			return config.Invalid(windowOf(v.name), "must be a positive duration, got %s", v.per)
		}
		if err := (ratelimit.Limit{Requests: v.n, Per: v.per}).Validate(); err != nil {
			return config.Invalid(v.name, "must be at least 1 and at most one per microsecond of its window, got %d", v.n)
		}
	}
	if c.LoginAccountLimit < c.LoginLimit {
		// Below the tight limit the ceiling would be the tight limit, and
		// anyone could lock the owner out again.
		return config.Invalid("LOGIN_ACCOUNT_LIMIT", "must be at least RESAYIL_LOGIN_LIMIT (%d), got %d", c.LoginLimit, c.LoginAccountLimit)
	}
	if c.PasswordResetAnswerTime < 0 || c.PasswordResetAnswerTime > 5*time.Second {
		return config.Invalid("PASSWORD_RESET_ANSWER_TIME", "must be a duration from 0s to 5s, got %s", c.PasswordResetAnswerTime)
	}
	if c.HashConcurrency < 1 || c.HashConcurrency > 1024 {
		return config.Invalid("HASH_CONCURRENCY", "must be between 1 and 1024, got %d", c.HashConcurrency)
	}
	if c.HashWait < 0 || c.HashWait > time.Minute {
		return config.Invalid("HASH_WAIT", "must be a duration from 0s to 1m, got %s", c.HashWait)
	}
	return nil
}

// LoginLimits returns the login throttle's limits.
func (c *Config) LoginLimits() account.LoginLimits {
	return account.LoginLimits{
		PerAccountAndIP: ratelimit.Limit{Requests: c.LoginLimit, Per: c.LoginWindow},
		PerAccount:      ratelimit.Limit{Requests: c.LoginAccountLimit, Per: c.LoginWindow},
		PerIP:           ratelimit.Limit{Requests: c.LoginIPLimit, Per: c.LoginWindow},
	}
}

// windowOf names the window variable of a limit variable.
func windowOf(limit string) string {
	if strings.HasPrefix(limit, "PASSWORD_RESET_") {
		return "PASSWORD_RESET_WINDOW"
	}
	return strings.Replace(limit, "LIMIT", "WINDOW", 1)
}

// ResetLimits returns the password-reset throttle's limits.
func (c *Config) ResetLimits() account.ResetLimits {
	return account.ResetLimits{
		PerIdentifier: ratelimit.Limit{Requests: c.PasswordResetLimit, Per: c.PasswordResetWindow},
		PerIP:         ratelimit.Limit{Requests: c.PasswordResetIPLimit, Per: c.PasswordResetWindow},
		ConfirmPerIP:  ratelimit.Limit{Requests: c.PasswordResetConfirmIPLimit, Per: c.PasswordResetWindow},
	}
}

// ResetAnswerTime is PasswordResetAnswerTime as account.ResetConfig takes
// it (negative: none).
func (c *Config) ResetAnswerTime() time.Duration {
	if c.PasswordResetAnswerTime == 0 {
		return -1
	}
	return c.PasswordResetAnswerTime
}

// RegisterRateLimit returns the registration limit per client address.
func (c *Config) RegisterRateLimit() ratelimit.Limit {
	return ratelimit.Limit{Requests: c.RegisterLimit, Per: c.RegisterWindow}
}

// Origins returns the configured CORS origins; in development with none
// configured it allows the Vite dev server.
func (c *Config) Origins() []string {
	if c.CORSOrigins == "" {
		if c.IsProduction() {
			return nil
		}
		return []string{"http://localhost:5173", "http://127.0.0.1:5173"}
	}
	var out []string
	for _, o := range strings.Split(c.CORSOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// ProxyPrefixes parses TrustedProxies.
func (c *Config) ProxyPrefixes() ([]netip.Prefix, error) {
	out, err := clientip.ParseTrusted(c.TrustedProxies)
	if err != nil {
		return nil, config.Invalid("TRUSTED_PROXIES", "%v", err)
	}
	return out, nil
}

// SecureCookies reports whether cookies carry the Secure flag: everywhere
// but development, which runs on plain http://localhost.
func (c *Config) SecureCookies() bool { return c.Env != config.Development }

// HTTPS reports whether the public URL is https: browsers are then told to
// use https only (Strict-Transport-Security).
func (c *Config) HTTPS() bool {
	u, err := url.Parse(c.PublicURL)
	return err == nil && strings.EqualFold(u.Scheme, "https")
}
