package gatewaytest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/app"
	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/fake/fakeollama"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
)

// Options choose the world a test gateway runs in.
type Options struct {
	// Backend is the database (default SQLite).
	Backend testenv.Backend
	// Redis selects Redis mode with a per-test key prefix.
	Redis bool
	// Ollama is the upstream; nil starts a fakeollama with default models.
	Ollama *fakeollama.Server
	// Env adds RESAYIL_ variables (KEY=VALUE).
	Env []string
	// DSN reuses an existing database instead of a fresh one (several
	// gateway processes sharing one database).
	DSN string
	// RedisPrefix reuses a Redis prefix (several gateways sharing Redis).
	RedisPrefix string
	// Now is the gateway's clock for the cloud budget's day (default
	// time.Now).
	Now func() time.Time
}

// Gateway is one running gateway program.
type Gateway struct {
	App *app.App
	URL string // base URL, without /v1
	// MetricsURL is the metrics server's base URL (GET MetricsURL+"/metrics").
	MetricsURL string
	DB         *database.DB
	DSN        string
	Ollama     *fakeollama.Server
	Prefix     string
	stop       context.CancelFunc
	done       chan error
}

// ModelsFile is the catalog shipped in config/models.yaml.
func ModelsFile() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "config", "models.yaml")
}

// Start builds the whole gateway with app.New, serves it on 127.0.0.1:0 and
// stops it when the test ends.
func Start(t testing.TB, o Options) *Gateway {
	t.Helper()
	g := &Gateway{Ollama: o.Ollama, DSN: o.DSN, Prefix: o.RedisPrefix}
	if g.Ollama == nil {
		g.Ollama = fakeollama.New()
		t.Cleanup(g.Ollama.Close)
	}
	if g.DSN == "" {
		if o.Backend == "" {
			o.Backend = testenv.SQLiteBackend
		}
		db, dsn := testenv.Open(t, o.Backend)
		Plans(t, db)
		g.DSN = dsn
	}
	env := []string{
		"RESAYIL_DB_DSN=" + g.DSN, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_OLLAMA_URL=" + g.Ollama.URL(),
		"RESAYIL_MODELS_FILE=" + ModelsFile(), "RESAYIL_GATEWAY_METRICS_ADDR=127.0.0.1:0",
		"RESAYIL_SHUTDOWN_TIMEOUT=5s", "RESAYIL_LOG_LEVEL=warn",
	}
	if o.Redis {
		r := testenv.Redis(t)
		if g.Prefix == "" {
			g.Prefix = r.Prefix
		}
		env = append(env, "RESAYIL_REDIS_URL="+r.URL, "RESAYIL_REDIS_PREFIX="+g.Prefix, "RESAYIL_USAGE_FLUSH_INTERVAL=100ms")
	}
	env = append(env, o.Env...)
	var cfg app.Config
	if err := config.Load(&cfg, env); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("RESAYIL_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	var opts []app.Option
	if o.Now != nil {
		opts = append(opts, app.WithClock(o.Now))
	}
	a, err := app.New(context.Background(), &cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	g.App, g.DB = a, a.DB
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.URL = "http://" + ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	g.stop, g.done = cancel, make(chan error, 1)
	ready := make(chan struct{})
	go func() { g.done <- a.ServeListener(ctx, ln, func(net.Addr) { close(ready) }) }()
	t.Cleanup(func() { g.Stop(t); a.Close() })
	// Serving, the metrics server bound and the workers started when
	// ready is called.
	select {
	case <-ready:
	case err := <-g.done:
		cancel()
		g.stop = nil
		t.Fatalf("gateway serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("gateway not ready within 10 s")
	}
	if addr := a.MetricsAddr(); addr != "" {
		g.MetricsURL = "http://" + addr
	}
	return g
}

// Stop shuts the gateway down cleanly and waits for it (idempotent).
func (g *Gateway) Stop(t testing.TB) {
	t.Helper()
	if g.stop == nil {
		return
	}
	g.stop()
	g.stop = nil
	select {
	case err := <-g.done:
		if err != nil {
			t.Errorf("gateway serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("gateway did not stop within 30 s")
	}
}

// Fund grants credits the way portal-api does: in embedded mode the wallet
// is the database (walletsql's Credit); in Redis mode the ledger row and
// durable balance are committed first (CommitGrant), then the live wallet is
// credited once by reference and the row marked live.
func (g *Gateway) Fund(t testing.TB, acct resayil.AccountID, amount resayil.Credits) {
	t.Helper()
	if g.App.Redis == nil {
		Fund(t, g.App.Wallet, acct, amount)
		return
	}
	grant := CommitGrant(t, g.DB, acct, amount, false)
	applied, err := g.App.Wallet.Credit(context.Background(), grant)
	must(t, err)
	if !applied {
		t.Fatal("grant not applied to Redis")
	}
	exec(t, g.DB, `UPDATE credit_ledger SET live_applied_at = ? WHERE reference = ?`, time.Now().UTC(), grant.Reference)
}

// Balance returns the live balance.
func (g *Gateway) Balance(t testing.TB, acct resayil.AccountID) wallet.Balance {
	t.Helper()
	b, err := g.App.Wallet.Balance(context.Background(), acct)
	must(t, err)
	return b
}

// WaitUsage waits until the account has n usage records in the database
// (Redis mode writes them in batches) and returns the count seen.
func (g *Gateway) WaitUsage(t testing.TB, acct resayil.AccountID, n int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := UsageCount(t, g.DB, acct)
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}
