package usage_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/usage"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// waitFor bounds every poll of a test.
const waitFor = 15 * time.Second

// fixture is Redis mode as the gateway runs it: live wallets in Redis
// (walletredis, loading cold balances from the database) and the durable
// record in a real database, where grants are committed first.
type fixture struct {
	backend testenv.Backend
	env     *testenv.RedisEnv
	db      *database.DB
	dsn     string
	live    *walletredis.Wallet
	durable *walletsql.Wallet
	shards  int
	logs    *logSink
	seq     atomic.Int64
}

// eachBackend runs fn as a parallel subtest on SQLite and on MariaDB.
func eachBackend(t *testing.T, fn func(t *testing.T, b testenv.Backend)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// newFixture builds a fixture; shards 0 means the default 16 streams.
func newFixture(t *testing.T, b testenv.Backend, shards int) *fixture {
	t.Helper()
	f := &fixture{backend: b, env: testenv.Redis(t), shards: shards, logs: newLogSink(t)}
	f.db, f.dsn = testenv.Open(t, b)
	f.durable = walletsql.New(f.db, walletsql.Config{})
	var err error
	f.live, err = walletredis.New(f.env.Client, walletsql.NewLoader(f.db), walletredis.Config{Prefix: f.env.Prefix, Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// config is a Writer config for tests: short intervals, quick retries.
func (f *fixture) config() usage.Config {
	return usage.Config{
		Prefix: f.env.Prefix, Shards: f.shards,
		FlushInterval: 50 * time.Millisecond,
		MinBackoff:    5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Timeout: 5 * time.Second,
		Logger:  f.logs.logger(),
	}
}

// start runs a Writer on the fixture's Redis and database until the test
// ends.
func (f *fixture) start(t *testing.T, cfg usage.Config) *usage.Writer {
	t.Helper()
	return f.startOn(t, f.env.Client, f.db, cfg, usage.Hooks{})
}

func (f *fixture) startOn(t *testing.T, rdb redis.UniversalClient, db *database.DB, cfg usage.Config, h usage.Hooks) *usage.Writer {
	t.Helper()
	w, err := usage.NewWithHooks(rdb, db, cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}

// account creates an account funded with credits the way Redis mode does:
// the grant committed in the database (a ledger row and the wallet), which
// the live wallet loads on first use.
func (f *fixture) account(t *testing.T, credits resayil.Credits) resayil.AccountID {
	t.Helper()
	now := time.Now().UTC()
	res, err := f.db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, now, now)
	if err != nil {
		t.Fatal(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	acct := resayil.AccountID(id)
	if credits > 0 {
		ok, err := f.durable.Credit(context.Background(), wallet.Grant{Reference: fmt.Sprintf("admin:test-%d", id), Account: acct, Amount: credits, Reason: "test"})
		if err != nil || !ok {
			t.Fatalf("grant %d to account %d: %v, %v", credits, acct, ok, err)
		}
	}
	return acct
}

// request runs one request's billing through the live wallet: a hold of
// hold credits, then a settlement of cost. It returns the request id.
func (f *fixture) request(t *testing.T, acct resayil.AccountID, hold, cost resayil.Credits) string {
	t.Helper()
	id, err := f.tryRequest(acct, hold, cost)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// tryRequest is request for goroutines other than the test's.
func (f *fixture) tryRequest(acct resayil.AccountID, hold, cost resayil.Credits) (string, error) {
	ctx := context.Background()
	id := fmt.Sprintf("req-%d-%d", acct, f.seq.Add(1))
	if _, err := f.live.Reserve(ctx, wallet.Hold{RequestID: id, Account: acct, Amount: hold}); err != nil {
		return "", fmt.Errorf("reserve %s: %w", id, err)
	}
	if _, err := f.live.Settle(ctx, settlement(id, acct, cost)); err != nil {
		return "", fmt.Errorf("settle %s: %w", id, err)
	}
	return id, nil
}

func settlement(id string, acct resayil.AccountID, cost resayil.Credits) wallet.Settlement {
	return wallet.Settlement{RequestID: id, Account: acct, Cost: cost, Usage: wallet.Usage{
		ClientRequestID: "client-" + id, APIKeyID: 42, Model: "llama3.2:3b", Backend: "local",
		PromptTokens: 11, CompletionTokens: 31, TotalTokens: 42, Status: "ok",
		Latency: 1250 * time.Millisecond, TTFB: 75 * time.Millisecond,
	}}
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitFor, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rows counts usage records.
func (f *fixture) rows(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.db.SQL.QueryRow(`SELECT COUNT(*) FROM usage_records`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// backlog counts the events in the usage streams.
func (f *fixture) backlog(t *testing.T) int64 {
	t.Helper()
	keys, err := walletredis.NewKeys(f.env.Prefix, f.shards)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, s := range keys.Streams() {
		l, err := f.env.Client.XLen(context.Background(), s).Result()
		if err != nil {
			t.Fatal(err)
		}
		n += l
	}
	return n
}

// waitWritten waits until the database holds n usage records and the
// streams are empty.
func (f *fixture) waitWritten(t *testing.T, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d usage records and empty streams", n), func() bool {
		return f.rows(t) == n && f.backlog(t) == 0
	})
}

// checkDurable asserts, for each account, that the database is what Redis
// says: the wallet balance equals the live balance (no holds are left), the
// usage records sum to the live debits, and the balance is grants minus
// usage debits (what `ledger verify` checks).
func (f *fixture) checkDurable(t *testing.T, accounts ...resayil.AccountID) {
	t.Helper()
	ctx := context.Background()
	for _, a := range accounts {
		live, err := f.live.Balance(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if live.Held != 0 {
			t.Fatalf("account %d: %d credits still held", a, live.Held)
		}
		var balance, grants, debits int64
		err = f.db.SQL.QueryRow(`SELECT
  (SELECT balance_credits FROM wallets WHERE account_id = ?),
  (SELECT COALESCE(SUM(amount_credits), 0) FROM credit_ledger WHERE account_id = ?),
  (SELECT COALESCE(SUM(credits), 0) FROM usage_records WHERE account_id = ?)`, a, a, a).Scan(&balance, &grants, &debits)
		if err != nil {
			t.Fatal(err)
		}
		if resayil.Credits(balance) != live.Total {
			t.Errorf("account %d: database balance %d, Redis balance %d", a, balance, live.Total)
		}
		if balance != grants-debits {
			t.Errorf("account %d: balance %d != grants %d - usage debits %d", a, balance, grants, debits)
		}
	}
	testenv.CheckHourly(t, f.db.SQL)
}

// logSink keeps a test's log records and prints them if the test fails.
type logSink struct {
	mu   sync.Mutex
	recs []string
}

func newLogSink(t *testing.T) *logSink {
	s := &logSink{}
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range s.all() {
				t.Log(r)
			}
		}
	})
	return s
}

func (s *logSink) logger() *slog.Logger { return slog.New(&sinkHandler{sink: s}) }

func (s *logSink) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.recs...)
}

// count counts records whose message starts with prefix.
func (s *logSink) count(prefix string) int {
	n := 0
	for _, r := range s.all() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

type sinkHandler struct {
	sink  *logSink
	attrs []slog.Attr
}

func (h *sinkHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *sinkHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message + " level=" + r.Level.String())
	for _, a := range h.attrs {
		b.WriteString(" " + a.String())
	}
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.sink.mu.Lock()
	h.sink.recs = append(h.sink.recs, b.String())
	h.sink.mu.Unlock()
	return nil
}

func (h *sinkHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &sinkHandler{sink: h.sink, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *sinkHandler) WithGroup(string) slog.Handler { return h }

// proxy is a TCP relay in front of a server that a test can take down and
// bring back, as a network outage or a restart looks to a client: while
// down, open connections are cut and new ones are closed at once.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go p.serve()
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[u] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(c, u)
		go pipe(u, c)
	}
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}
