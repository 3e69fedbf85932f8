// Package app assembles the gateway from its Config: it opens the database
// and Redis, chooses the Redis or embedded implementations, builds the HTTP
// app and its background workers, and runs them until the context ends.
// cmd/gateway and the end-to-end tests both build the program through New.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/admission"
	"github.com/resayil/portal/gateway/internal/capacity/capacityredis"
	"github.com/resayil/portal/gateway/internal/heartbeat"
	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/gateway/internal/keystore"
	"github.com/resayil/portal/gateway/internal/metrics"
	"github.com/resayil/portal/gateway/internal/redisbatch"
	"github.com/resayil/portal/gateway/internal/routing"
	"github.com/resayil/portal/gateway/internal/server"
	"github.com/resayil/portal/gateway/internal/usage"
	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/accountevents/accounteventssql"
	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/clientip"
	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitmem"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitredis"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// App is the assembled gateway.
type App struct {
	cfg     *Config
	log     *slog.Logger
	DB      *database.DB
	Redis   *redis.Client
	HTTP    *fiber.App
	Catalog *catalog.Live
	Wallet  wallet.Wallet
	Limiter ratelimit.Limiter
	Auth    *keyauth.Authenticator
	Plans   *keyauth.PlanSet
	Metrics *metrics.Metrics
	Chat    *server.Chat
	// AuthLog is the auth-failure log (RESAYIL_AUTH_FAILURE_LOG; nil when
	// off): a line per refused API key, for fail2ban.
	AuthLog *authlog.Logger
	// Router routes admitted requests (slots, queue, failover, budget).
	Router *routing.Router
	// Heartbeat publishes the routing snapshot for the admin console.
	Heartbeat *heartbeat.Publisher
	// Usage is the Redis-mode usage writer (nil in embedded mode).
	Usage *usage.Writer
	// redisSlots is the Redis capacity store (nil in embedded mode).
	redisSlots *capacityredis.Store
	// store is admission's port: redisbatch.Batch in Redis mode (its
	// Capacity set once routing has built the slots), admission.Embedded
	// otherwise.
	store    admission.Store
	batch    *redisbatch.Batch
	events   accountevents.Subscriber
	lastUsed *keyauth.LastUsedFlusher
	workers  []worker
	now      func() time.Time
	// metricsAddr is the bound metrics address (tests listen on port 0).
	metricsAddr atomic.Pointer[string]
}

// Option adjusts what New builds; tests use them.
type Option func(*App)

// WithClock sets the clock that says which Kuwait day the cloud budget
// counts (tests turn the day at midnight without waiting for it).
func WithClock(now func() time.Time) Option { return func(a *App) { a.now = now } }

// worker is a background loop that runs until its context ends and
// finishes its work in close (invariant 7: nothing queued is lost).
type worker struct {
	name  string
	run   func(ctx context.Context)
	close func(ctx context.Context) error
}

// New opens the database (and Redis when configured) and builds the app.
// The gateway never migrates: portal-api owns the schema, and a database
// that is behind makes the gateway unready.
func New(ctx context.Context, cfg *Config, log *slog.Logger, opts ...Option) (*App, error) {
	db, err := database.Open(ctx, cfg.DSN(), database.Options{DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, DB: db, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	if err := a.build(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context) error {
	cfg := a.cfg
	cat, err := catalog.Load(cfg.ModelsFile, cfg.Restricted())
	if err != nil {
		return err
	}
	a.Catalog = catalog.NewLive(cat)
	ks := keystore.New(a.DB, keystore.Config{})
	a.Plans = keyauth.NewPlanSet(ks)
	if err := a.Plans.Reload(ctx); err != nil {
		a.log.Warn("plans not loaded; using the default Basic plan until the database answers", "err", err)
	}
	a.lastUsed = keyauth.NewLastUsedFlusher(ks, keyauth.LastUsedConfig{Logger: a.log})
	a.Auth, err = keyauth.New(ks, keyauth.Config{Plans: a.Plans, LastUsed: a.lastUsed, PositiveTTL: cfg.KeyCacheTTL})
	if err != nil {
		return err
	}
	if cfg.RedisURL != "" {
		if err := a.redisMode(); err != nil {
			return err
		}
	} else {
		a.Limiter = ratelimitmem.New(ratelimitmem.Config{})
		a.Wallet = walletsql.New(a.DB, walletsql.Config{TopUpURL: wallet.TopUpURL(cfg.PublicURL)})
		a.events = accounteventssql.New(a.DB.SQL, accounteventssql.Config{PollInterval: cfg.EventPollInterval, Logger: a.log})
	}
	a.Metrics = metrics.New(a.Catalog)
	if a.Router, err = a.routing(); err != nil {
		return err
	}
	a.Metrics.Routing(a.Router)
	a.heartbeat()
	if a.batch != nil {
		a.batch.Capacity = a.redisSlots
		a.store = a.batch
	} else {
		a.store = admission.Embedded{Limiter: a.Limiter, Wallet: a.Wallet}
	}
	a.Chat = &server.Chat{
		Log:  a.log,
		Auth: a.Auth,
		Admission: &admission.Admission{
			Catalog: a.Catalog, Store: a.store, Wallet: a.Wallet, Plans: a.Plans, Lease: cfg.HoldLease,
			Cloud: cfg.CloudEnabled(), Log: a.log,
		},
		Router:    a.Router,
		PublicURL: cfg.PublicURL,
		Observer:  a.Metrics,
		InFlight:  a.Metrics.InFlight,
	}
	a.Chat.Init()
	deps := server.Deps{
		Logger: a.log, Checks: a.checks(), BodyLimit: cfg.MaxBodyBytes, Chat: a.Chat,
		Models: &server.Models{Auth: a.Auth, Catalog: a.Catalog},
	}
	if err := a.authFailures(&deps); err != nil {
		return err
	}
	a.HTTP = server.New(deps)
	return nil
}

// authFailures opens the auth-failure log and has the HTTP layer write to
// it, naming clients as portal-api does (RESAYIL_TRUSTED_PROXIES). Lines
// carry the wall clock, which fail2ban compares with its own.
func (a *App) authFailures(d *server.Deps) error {
	proxies, err := a.cfg.ProxyPrefixes()
	if err != nil {
		return err
	}
	if a.AuthLog, err = authlog.Open(a.cfg.AuthFailureLog, authlog.Options{Logger: a.log}); err != nil {
		return config.Invalid("AUTH_FAILURE_LOG", "%v", err)
	}
	if a.AuthLog != nil {
		d.KeyFailures, d.ClientIP = a.AuthLog, clientip.New(proxies).Of
	}
	return nil
}

// redisMode wires the production implementations: limits, wallets and
// events shared by every replica through Redis, the database as the
// durable record written in batches off the request path.
func (a *App) redisMode() error {
	opt, err := redis.ParseURL(a.cfg.RedisURL.Reveal())
	if err != nil {
		return fmt.Errorf("redis URL: %w", err)
	}
	// Redis down must be a 503 at once (docs/architecture.md "Failure
	// behaviour"). By default go-redis dials 5 times 100 ms apart for each of
	// a command's 4 attempts, so every request waited about 1.7 s for its 503
	// while Redis refused connections. One dial per attempt answers in about
	// 0.1 s; the command retries (MaxRetries) still cover a transient error.
	if opt.DialerRetries == 0 {
		opt.DialerRetries = 1
	}
	a.Redis = redis.NewClient(opt)
	l := ratelimitredis.New(a.Redis, ratelimitredis.Config{Prefix: a.cfg.RedisPrefix})
	w, err := walletredis.New(a.Redis, walletsql.NewLoader(a.DB), walletredis.Config{Prefix: a.cfg.RedisPrefix})
	if err != nil {
		return err
	}
	a.Limiter, a.Wallet = l, w
	// A request's rate limit with its hold, and its settlement with its
	// slot release, each share one round trip (ADR 7).
	a.batch = &redisbatch.Batch{Client: a.Redis, Limiter: l, Wallet: w, Combiner: redisbatch.NewCombiner(a.Redis, redisbatch.InFlight)}
	a.events = accounteventsredis.New(a.Redis, accounteventsredis.Config{Prefix: a.cfg.RedisPrefix, Logger: a.log})
	return a.usageWriter(w)
}

// ReloadCatalog re-reads the model catalog (SIGHUP). A bad file keeps the
// current catalog.
func (a *App) ReloadCatalog() error {
	c, err := catalog.Load(a.cfg.ModelsFile, a.cfg.Restricted())
	if err != nil {
		return err
	}
	a.Catalog.Set(c)
	a.log.Info("model catalog reloaded", "models", len(c.Models()))
	return nil
}

// checks: in embedded mode the database is the wallet, so it is required;
// in Redis mode warm requests are served from Redis, so a database outage
// only degrades the gateway.
func (a *App) checks() []httpserver.Check {
	checks := []httpserver.Check{{
		Name: "database", Required: a.cfg.RedisURL == "",
		Run: a.DB.Ready,
	}}
	checks = append(checks, httpserver.Check{Name: "upstreams", Run: func(ctx context.Context) error { return a.Router.Check(ctx) }})
	if a.cfg.RedisURL != "" {
		checks = append(checks, httpserver.RedisCheck(a.Redis))
	}
	return checks
}

// Serve runs the HTTP server, the metrics server and the background
// workers until ctx ends, then shuts down in order: stop accepting, let
// in-flight requests finish and settle (ending streams past the grace),
// flush queued usage and last-used times.
func (a *App) Serve(ctx context.Context, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return err
	}
	return a.ServeListener(ctx, ln, ready)
}

// ServeListener is Serve on an existing listener (tests use 127.0.0.1:0).
func (a *App) ServeListener(ctx context.Context, ln net.Listener, ready func(net.Addr)) error {
	wctx, stopWorkers := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	a.startWorkers(wctx, &wg)
	var msrv *http.Server
	if a.cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", a.cfg.MetricsAddr)
		if err != nil {
			stopWorkers()
			return fmt.Errorf("metrics listener: %w", err)
		}
		addr := mln.Addr().String()
		a.metricsAddr.Store(&addr)
		msrv = &http.Server{Handler: a.metricsHandler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = msrv.Serve(mln) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- a.HTTP.Listener(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	grace := a.cfg.ShutdownTimeout
	drained := make(chan struct{})
	go func() { a.Chat.Drain(grace); close(drained) }()
	if err := a.HTTP.ShutdownWithTimeout(grace); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		a.log.Warn("http shutdown", "err", err)
	}
	<-drained
	stopWorkers()
	wg.Wait()
	fctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, w := range a.workers {
		if w.close != nil {
			if err := w.close(fctx); err != nil {
				a.log.Error("flush on shutdown", "worker", w.name, "err", err)
			}
		}
	}
	if err := a.lastUsed.Close(fctx); err != nil {
		a.log.Error("flush last-used times", "err", err)
	}
	if msrv != nil {
		_ = msrv.Shutdown(fctx)
	}
	return serveErr
}

// MetricsAddr returns the address the metrics server is bound to, "" until
// ServeListener has bound it (it has when ready is called) or when the
// metrics server is off.
func (a *App) MetricsAddr() string {
	if p := a.metricsAddr.Load(); p != nil {
		return *p
	}
	return ""
}

func (a *App) startWorkers(ctx context.Context, wg *sync.WaitGroup) {
	a.workers = append(a.workers, worker{name: "account-events", run: func(ctx context.Context) {
		err := a.events.Subscribe(ctx, func(ev accountevents.Event) {
			a.Auth.HandleEvent(ev)
			if b := a.Router.Budget(); b != nil {
				switch ev.Kind {
				case accountevents.KindKeyRevoked, accountevents.KindAccountDisabled, accountevents.KindAccountEnabled,
					accountevents.KindPlanChanged, accountevents.KindWalletGranted:
				default:
					// cloud_budget_changed, resync, or a kind this gateway does
					// not know: re-read today's cap.
					b.Poke()
				}
			}
			switch ev.Kind {
			case accountevents.KindPlanChanged, accountevents.KindResync:
				rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := a.Plans.Reload(rctx); err != nil {
					a.log.Warn("reload plans", "err", err)
				}
			}
		})
		if err != nil {
			a.log.Error("account events stopped", "err", err)
		}
	}}, worker{name: "routing", run: a.Router.Run},
		worker{name: "heartbeat", run: a.Heartbeat.Run, close: a.Heartbeat.Close})
	for _, w := range a.workers {
		if w.run == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
		}()
	}
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
