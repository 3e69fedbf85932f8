// Package app assembles portal-api from its Config: it opens the database
// and Redis, chooses implementations, builds the HTTP app and background
// jobs, and runs them until the context ends. cmd/portal-api and the
// end-to-end tests both build the program through New.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitmem"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitredis"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/admin"
	"github.com/resayil/portal/portal-api/internal/api"
	"github.com/resayil/portal/portal-api/internal/apikey"
	"github.com/resayil/portal/portal-api/internal/billing"
	"github.com/resayil/portal/portal-api/internal/ipban"
	"github.com/resayil/portal/portal-api/internal/jobs"
	"github.com/resayil/portal/portal-api/internal/ledger"
	"github.com/resayil/portal/portal-api/internal/notify"
	"github.com/resayil/portal/portal-api/internal/store"
	"github.com/resayil/portal/portal-api/internal/usage"
)

// App is the assembled portal-api.
type App struct {
	cfg   *Config
	log   *slog.Logger
	DB    *database.DB
	Redis *redis.Client
	Store *store.Store
	HTTP  *fiber.App

	Accounts *account.Service
	Keys     *apikey.Service
	// Resets resets passwords by WhatsApp codes.
	Resets *account.ResetService
	// Ledger grants, adjusts and verifies credits; Billing sells plans and
	// top-ups; Jobs is the periodic work Serve runs (tests call RunDue).
	Ledger  *ledger.Service
	Billing *billing.Service
	Jobs    *jobs.Scheduler
	// live is the Redis wallet; nil in embedded mode.
	live *walletredis.Wallet
	// Catalog is the gateway's model catalog file (RESAYIL_MODELS_FILE),
	// re-read when it changes and on ReloadCatalog.
	Catalog *catalog.File
	// NotifyAdmin answers the notifications admin routes and webhooks;
	// Notifier sends the outbox over WhatsApp (nil when notifications are
	// off or no token is set). Serve runs it; tests call RunOnce.
	NotifyAdmin *notify.Admin
	Notifier    *notify.Worker
	// AuthLog is the auth-failure log (RESAYIL_AUTH_FAILURE_LOG; nil when
	// off); IPBans records fail2ban's bans as admin alerts.
	AuthLog *authlog.Logger
	IPBans  *ipban.Alerts
}

// Options replace parts of the program that tests need to control. The
// zero value is what `portal-api serve` runs.
type Options struct {
	// Now is the clock of sessions, tokens and login throttling.
	Now func() time.Time
	// Limiter throttles failed logins and registrations; default in
	// memory, or Redis when RESAYIL_REDIS_URL is set so that every replica
	// shares the counts.
	Limiter ratelimit.Limiter
	// HashGate bounds the bcrypt work done at once; nil means one of
	// RESAYIL_HASH_CONCURRENCY slots. A test passes its own to fill it.
	HashGate *account.HashGate
	// Events announces key revocations to the gateways; nil means the
	// publisher of the mode (Redis pub/sub or the account_events table).
	Events apikey.EventPublisher
}

// ErrSchemaBehind means the database needs `portal-api migrate up`.
var ErrSchemaBehind = errors.New("the database schema is behind this binary: run `portal-api migrate up` (or set RESAYIL_AUTO_MIGRATE=true)")

// Open connects to the database (and Redis when configured) without
// building the HTTP app; commands such as migrate and seed use it.
func Open(ctx context.Context, cfg *Config, log *slog.Logger) (*App, error) {
	db, err := database.Open(ctx, cfg.DSN(), database.Options{DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, DB: db, Store: store.New(db)}
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL.Reveal())
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		a.Redis = redis.NewClient(opt)
	}
	return a, nil
}

// New opens everything serve needs: applies pending migrations when
// allowed, refuses a database that is behind otherwise, and builds the app.
func New(ctx context.Context, cfg *Config, log *slog.Logger) (*App, error) {
	return NewWithOptions(ctx, cfg, log, Options{})
}

// NewWithOptions is New with parts replaced, for tests.
func NewWithOptions(ctx context.Context, cfg *Config, log *slog.Logger, opts Options) (*App, error) {
	a, err := Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := a.ensureSchema(ctx); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.build(opts); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// build wires the services and the HTTP app.
func (a *App) build(opts Options) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Limiter == nil {
		if a.Redis != nil {
			opts.Limiter = ratelimitredis.New(a.Redis, ratelimitredis.Config{Prefix: a.cfg.RedisPrefix})
		} else {
			opts.Limiter = ratelimitmem.New(ratelimitmem.Config{Now: opts.Now})
		}
	}
	proxies, err := a.cfg.ProxyPrefixes()
	if err != nil {
		return err
	}
	if opts.HashGate == nil {
		if opts.HashGate, err = account.NewHashGate(a.cfg.HashConcurrency, a.cfg.HashWait); err != nil {
			return err
		}
	}
	// Stamped with the wall clock, not opts.Now: fail2ban reads the times.
	if a.AuthLog, err = authlog.Open(a.cfg.AuthFailureLog, authlog.Options{Logger: a.log}); err != nil {
		return config.Invalid("AUTH_FAILURE_LOG", "%v", err)
	}
	a.IPBans = ipban.New(a.DB, opts.Now)
	a.Accounts, err = account.New(account.Config{
		Store:         a.Store,
		Hasher:        account.Hasher{Cost: a.cfg.BcryptCost},
		JWTSecret:     []byte(a.cfg.JWTSecret.Reveal()),
		AccessTTL:     a.cfg.AccessTokenTTL,
		Limiter:       opts.Limiter,
		LoginLimits:   a.cfg.LoginLimits(),
		RegisterLimit: a.cfg.RegisterRateLimit(),
		HashGate:      opts.HashGate,
		Now:           opts.Now,
		Logger:        a.log,
		AuthFailures:  a.AuthLog,
	})
	if err != nil {
		return err
	}
	a.Resets, err = account.NewResetService(account.ResetConfig{
		Store:      a.Store,
		Hasher:     account.Hasher{Cost: a.cfg.BcryptCost},
		Secret:     []byte(a.cfg.JWTSecret.Reveal()),
		Limiter:    opts.Limiter,
		Limits:     a.cfg.ResetLimits(),
		HashGate:   opts.HashGate,
		AnswerTime: a.cfg.ResetAnswerTime(),
		Now:        opts.Now,
		Logger:     a.log,
	})
	if err != nil {
		return err
	}
	if a.AuthLog != nil {
		log := a.AuthLog
		a.Resets.OnBadCode = func(_ context.Context, f account.ResetFailure) {
			log.Failure(authlog.KindResetCode, f.IP, f.Reason)
		}
	}
	if opts.Events == nil {
		opts.Events = keyEvents{a.Events()}
	}
	a.Keys = apikey.New(a.Store, opts.Events, opts.Now, a.log)
	if err := a.buildBilling(opts.Now); err != nil {
		return err
	}
	if err := a.buildNotify(opts.Now); err != nil {
		return err
	}
	a.Catalog, err = catalog.OpenFile(a.cfg.ModelsFile, a.cfg.Restricted(), CatalogCheckInterval, opts.Now)
	if err != nil {
		return err
	}
	reports, err := a.reports(opts.Now)
	if err != nil {
		return err
	}
	a.HTTP = api.New(api.Deps{
		Logger:         a.log,
		Checks:         a.checks(),
		Origins:        a.cfg.Origins(),
		Accounts:       a.Accounts,
		Keys:           a.Keys,
		Resets:         a.Resets,
		Billing:        a.Billing,
		Ledger:         a.Ledger,
		Usage:          usage.New(a.Store, opts.Now),
		SecureCookies:  a.cfg.SecureCookies(),
		TrustedProxies: proxies,
		HSTS:           a.cfg.HTTPS(),
		ReturnLimiter:  opts.Limiter,
		ReturnLimit:    ratelimit.Limit{Requests: a.cfg.MyFatoorahReturnLimit, Per: ReturnLimitWindow},
		Catalog:        a.Catalog,
		GatewayURL:     a.cfg.GatewayPublicURL,
		Notifications:  a.notificationDeps(),
		Capacity:       a.capacityReader(opts.Now),
		Admin:          admin.New(a.Store, opts.Now),
		Reports:        reports,
		Payments:       admin.NewPayments(a.Store),
		Actions:        admin.NewActions(a.Store, a.Events(), opts.Now, a.log),
		InternalToken:  a.cfg.InternalToken.Reveal(),
		IPBans:         a.IPBans,
		AuthFailures:   a.AuthLog,
		StaticDir:      a.cfg.StaticDir,
	})
	return nil
}

// ReloadCatalog re-reads the model catalog now (SIGHUP). A bad file keeps
// the current catalog.
func (a *App) ReloadCatalog() error {
	if err := a.Catalog.Reload(); err != nil {
		return err
	}
	a.log.Info("model catalog reloaded", "models", len(a.Catalog.Get().Models()))
	return nil
}

func (a *App) ensureSchema(ctx context.Context) error {
	m, err := a.DB.Migrator()
	if err != nil {
		return err
	}
	pending, err := m.Pending(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if !pending {
		return nil
	}
	if !a.cfg.ShouldAutoMigrate() {
		return ErrSchemaBehind
	}
	n, err := m.Up(ctx)
	if err != nil {
		return err
	}
	a.log.Info("applied migrations", "count", n)
	return nil
}

func (a *App) checks() []httpserver.Check {
	checks := []httpserver.Check{{
		Name: "database", Required: true,
		Run: a.DB.Ready,
	}}
	if a.Redis != nil {
		checks = append(checks, httpserver.RedisCheck(a.Redis))
	}
	return checks
}

// Serve runs the HTTP server on the configured address until ctx ends.
func (a *App) Serve(ctx context.Context, ready func(net.Addr)) error {
	bg, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	if a.live != nil {
		// Grants committed while Redis was unreachable reach the live
		// wallet here, once each (docs/architecture.md "Two ways to run").
		r, err := ledger.NewReconciler(ledger.ReconcilerConfig{Store: a.Store, Live: a.live, Log: a.log})
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = r.Run(bg, ledger.DefaultInterval) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = a.Jobs.Run(bg, JobTick) }()
	wg.Add(1)
	go func() { defer wg.Done(); a.runNotifier(bg) }()
	return httpserver.Serve(ctx, a.HTTP, a.cfg.Addr, a.cfg.ShutdownTimeout, ready)
}

// Close releases connections and the auth-failure log.
func (a *App) Close() {
	_ = a.AuthLog.Close()
	if a.Redis != nil {
		_ = a.Redis.Close()
	}
	if a.DB != nil {
		_ = a.DB.Close()
	}
}
