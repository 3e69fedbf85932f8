package app_test

// Failure behaviour (docs/architecture.md "Failure behaviour"): several
// gateway processes sharing one database and one Redis, Redis and
// the database taken away and given back through TCP proxies, Redis
// emptied under load, holds of a gateway that died, a clean shutdown in
// the middle of streams, and the metrics' model labels. Every gateway is
// the whole program (app.New + ServeListener) on a real listener.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/accountevents/accounteventssql"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/fake/fakeollama"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
)

// reply is what a client saw of one chat request.
type reply struct {
	code    int // HTTP status; 0 when no response arrived
	errCode string
	header  http.Header
}

// ask sends one non-streaming chat request with the official SDK (no
// retries) and reports the status, safe to call from any goroutine.
func ask(g *gatewaytest.Gateway, key, model string, maxTokens int64) reply {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var raw *http.Response
	_, err := client(g, key).Chat.Completions.New(ctx, params(model, maxTokens), option.WithResponseInto(&raw))
	a := reply{code: 200}
	if raw != nil {
		a.header = raw.Header
	}
	if err != nil {
		var ae *openai.Error
		if errors.As(err, &ae) {
			a.code, a.errCode = ae.StatusCode, ae.Code
		} else {
			a.code, a.errCode = 0, err.Error()
		}
	}
	return a
}

// replica starts another gateway process on g's database, Redis prefix and
// upstream: what a second pod of the same deployment is.
func replica(t *testing.T, g *gatewaytest.Gateway, env ...string) *gatewaytest.Gateway {
	t.Helper()
	return gatewaytest.Start(t, gatewaytest.Options{
		DSN: g.DSN, Redis: g.App.Redis != nil, RedisPrefix: g.Prefix, Ollama: g.Ollama, Env: env,
	})
}

// liftRateLimit raises Basic's limit above what a test sends, on every
// gateway given (they share the database).
func liftRateLimit(t *testing.T, gs ...*gatewaytest.Gateway) {
	t.Helper()
	gatewaytest.SetRateLimit(t, gs[0].DB, "basic", 100000)
	for _, g := range gs {
		if err := g.App.Plans.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// eventually polls cond every 20 ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// durableState is an account as the database records it.
type durableState struct {
	wallet, grants, debits int64
	records, distinct      int
}

func durable(t *testing.T, db *database.DB, acct resayil.AccountID) durableState {
	t.Helper()
	var s durableState
	q := db.SQL.QueryRow
	if err := q(`SELECT balance_credits FROM wallets WHERE account_id = ?`, acct).Scan(&s.wallet); err != nil {
		t.Fatal(err)
	}
	if err := q(`SELECT COALESCE(SUM(amount_credits), 0) FROM credit_ledger WHERE account_id = ?`, acct).Scan(&s.grants); err != nil {
		t.Fatal(err)
	}
	if err := q(`SELECT COUNT(*), COUNT(DISTINCT request_id), COALESCE(SUM(credits), 0) FROM usage_records WHERE account_id = ?`, acct).
		Scan(&s.records, &s.distinct, &s.debits); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkLedger asserts the durable invariant: every debit is one usage
// record, and the balance is grants minus debits.
func checkLedger(t *testing.T, s durableState) {
	t.Helper()
	if s.records != s.distinct {
		t.Fatalf("%d usage records for %d request ids: some request was recorded twice", s.records, s.distinct)
	}
	if s.wallet != s.grants-s.debits {
		t.Fatalf("durable balance %d != grants %d - debits %d", s.wallet, s.grants, s.debits)
	}
}

func readiness(t *testing.T, g *gatewaytest.Gateway) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(g.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestFailure_RevokedKeyRefusedWithin5sOnEveryReplica: portal-api revokes a
// key in the database and publishes key_revoked on the mode's bus; both
// replicas, which had the key cached, refuse it within 5 s.
func TestFailure_RevokedKeyRefusedWithin5sOnEveryReplica(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			g1 := gatewaytest.Start(t, m.opts)
			g2 := replica(t, g1)
			gs := []*gatewaytest.Gateway{g1, g2}
			liftRateLimit(t, gs...)
			u := gatewaytest.NewUser(t, g1.DB, "", time.Time{})
			g1.Fund(t, u.Account, 1000)
			for i, g := range gs {
				if a := ask(g, u.Key, "llama3.2:3b", 8); a.code != 200 {
					t.Fatalf("replica %d: warm-up %d %s", i+1, a.code, a.errCode)
				}
			}
			var bus accountevents.Publisher
			if g1.App.Redis != nil {
				rb := accounteventsredis.New(g1.App.Redis, accounteventsredis.Config{Prefix: g1.Prefix})
				// Pub/sub delivers only to live subscriptions.
				eventually(t, 5*time.Second, "both replicas subscribed", func() bool {
					return g1.App.Redis.PubSubNumSub(ctx, rb.Channel()).Val()[rb.Channel()] >= 2
				})
				bus = rb
			} else {
				bus = accounteventssql.New(g1.DB.SQL, accounteventssql.Config{})
			}
			// As portal-api does: commit the revocation, then publish.
			gatewaytest.RevokeKey(t, g1.DB, u.KeyID)
			revoked := time.Now()
			if err := bus.Publish(ctx, accountevents.Event{Kind: accountevents.KindKeyRevoked, Account: u.Account,
				Subject: strconv.FormatInt(int64(u.KeyID), 10)}); err != nil {
				t.Fatal(err)
			}
			took := make([]time.Duration, len(gs))
			codes := make([]string, len(gs))
			var wg sync.WaitGroup
			for i, g := range gs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						a := ask(g, u.Key, "llama3.2:3b", 8)
						if a.code == 401 {
							took[i], codes[i] = time.Since(revoked), a.errCode
							return
						}
						if time.Since(revoked) > 5*time.Second {
							took[i] = -1
							return
						}
						time.Sleep(25 * time.Millisecond)
					}
				}()
			}
			wg.Wait()
			for i := range gs {
				if took[i] < 0 {
					t.Fatalf("replica %d still serves the revoked key 5 s after the event", i+1)
				}
				if codes[i] != "invalid_api_key" {
					t.Fatalf("replica %d: code %q, want invalid_api_key", i+1, codes[i])
				}
			}
			t.Logf("%s mode: revoked key refused after %v (replica 1) and %v (replica 2)", m.name,
				took[0].Round(time.Millisecond), took[1].Round(time.Millisecond))
		})
	}
}

// TestFailure_RateLimitExactAcrossThreeGateways: one Basic account (10 a
// minute), 30 concurrent requests spread over 3 gateway processes sharing
// Redis: exactly 10 pass, 20 get 429 with Retry-After.
func TestFailure_RateLimitExactAcrossThreeGateways(t *testing.T) {
	t.Parallel()
	g1 := gatewaytest.Start(t, gatewaytest.Options{Redis: true})
	gs := []*gatewaytest.Gateway{g1, replica(t, g1), replica(t, g1)}
	u := gatewaytest.NewUser(t, g1.DB, "", time.Time{})
	g1.Fund(t, u.Account, 1000)
	const n = 30
	replies := make([]reply, n)
	var ready, wg sync.WaitGroup
	ready.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ready.Wait()
			replies[i] = ask(gs[i%len(gs)], u.Key, "llama3.2:3b", 8)
		}()
	}
	ready.Done()
	wg.Wait()
	perGateway := make([][2]int, len(gs))
	ok, limited := 0, 0
	for i, a := range replies {
		switch a.code {
		case 200:
			ok++
			perGateway[i%len(gs)][0]++
		case 429:
			limited++
			perGateway[i%len(gs)][1]++
			ra, err := strconv.Atoi(a.header.Get("Retry-After"))
			if a.errCode != "rate_limit_exceeded" || err != nil || ra < 1 || a.header.Get("x-ratelimit-remaining-requests") != "0" {
				t.Fatalf("429 %s, Retry-After %q, headers %v", a.errCode, a.header.Get("Retry-After"), a.header)
			}
		default:
			t.Fatalf("request %d: %d %s", i, a.code, a.errCode)
		}
	}
	if ok != 10 || limited != 20 {
		t.Fatalf("%d answered 200 and %d 429, want exactly 10 and 20", ok, limited)
	}
	if got := g1.Ollama.Stats().Requests; got != 10 {
		t.Fatalf("upstream saw %d requests, want 10", got)
	}
	// The rate limit and the hold share a round trip: a refused request's
	// hold was taken and must have been given back.
	if bal, err := g1.App.Wallet.Balance(context.Background(), u.Account); err != nil || bal.Held != 0 {
		t.Fatalf("after the run: %+v, %v; want nothing held", bal, err)
	}
	t.Logf("3 gateways, 30 concurrent requests: 10×200, 20×429; [200s, 429s] per gateway %v", perGateway)
}

// TestFailure_HoldsOfAKilledGatewayAreReclaimed: a gateway reserved the
// whole balance and died (its hold is never renewed nor settled): requests
// get 402 until the lease runs out, then 200.
func TestFailure_HoldsOfAKilledGatewayAreReclaimed(t *testing.T) {
	t.Parallel()
	const lease = 3 * time.Second // the least RESAYIL_HOLD_LEASE allows
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			o := m.opts
			o.Env = []string{"RESAYIL_HOLD_LEASE=" + lease.String()}
			g := gatewaytest.Start(t, o)
			liftRateLimit(t, g)
			u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
			g.Fund(t, u.Account, 100)
			held, err := g.App.Wallet.Reserve(context.Background(), wallet.Hold{
				RequestID: "killed-gateway-" + m.name, Account: u.Account, Amount: 100, MinAmount: 1, Lease: lease,
			})
			reserved := time.Now()
			if err != nil || held != 100 {
				t.Fatalf("reserve: %d, %v", held, err)
			}
			if a := ask(g, u.Key, "llama3.2:3b", 8); a.code != 402 || a.errCode != "insufficient_quota" {
				t.Fatalf("with the whole balance held: %d %s, want 402 insufficient_quota", a.code, a.errCode)
			}
			refused := 1
			for {
				a := ask(g, u.Key, "llama3.2:3b", 8)
				if a.code == 200 {
					break
				}
				if a.code != 402 {
					t.Fatalf("%d %s", a.code, a.errCode)
				}
				refused++
				if time.Since(reserved) > lease+5*time.Second {
					t.Fatalf("the dead gateway's hold still blocks the account %s after its lease", time.Since(reserved)-lease)
				}
				time.Sleep(100 * time.Millisecond)
			}
			after := time.Since(reserved)
			if after < lease-50*time.Millisecond {
				t.Fatalf("the hold was dropped after %v, before its %v lease ran out", after, lease)
			}
			if b := waitBalance(t, g, u.Account, 99); b.Total != 99 || b.Held != 0 {
				t.Fatalf("balance %+v, want 99 and nothing held", b)
			}
			t.Logf("%s mode: %d requests refused with 402, then 200 %v after the %v-lease hold was taken", m.name, refused,
				after.Round(time.Millisecond), lease)
		})
	}
}

// proxiedRedisURL returns the test Redis's URL with its host replaced by
// a proxy's address, and the Redis address.
func proxiedRedisURL(t *testing.T) (*gatewaytest.Proxy, string) {
	t.Helper()
	u, err := url.Parse(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	p := gatewaytest.NewProxy(t, u.Host)
	u.Host = p.Addr()
	return p, u.String()
}

// TestFailure_RedisDownIs503AtOnceAndRecovers: with Redis unreachable every
// request is refused with 503 service_unavailable at once (none reaches
// the upstream unbilled), /readyz says redis fail; when Redis returns the
// gateway serves again by itself.
func TestFailure_RedisDownIs503AtOnceAndRecovers(t *testing.T) {
	t.Parallel()
	proxy, redisURL := proxiedRedisURL(t)
	g := gatewaytest.Start(t, gatewaytest.Options{Redis: true, Env: []string{"RESAYIL_REDIS_URL=" + redisURL}})
	liftRateLimit(t, g)
	u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	g.Fund(t, u.Account, 100)
	if a := ask(g, u.Key, "llama3.2:3b", 8); a.code != 200 {
		t.Fatalf("warm-up: %d %s", a.code, a.errCode)
	}
	upstreamBefore := g.Ollama.Stats().Requests
	cold := gatewaytest.NewUser(t, g.DB, "", time.Time{}) // never used: not cached

	proxy.Cut()
	var slowest time.Duration
	for i := range 5 {
		key := u.Key
		if i == 4 {
			key = cold.Key
		}
		start := time.Now()
		a := ask(g, key, "llama3.2:3b", 8)
		took := time.Since(start)
		slowest = max(slowest, took)
		if a.code != 503 || a.errCode != "service_unavailable" || a.header.Get("Retry-After") == "" {
			t.Fatalf("Redis down, request %d: %d %s, want 503 service_unavailable with Retry-After", i, a.code, a.errCode)
		}
		if took > 500*time.Millisecond {
			t.Fatalf("Redis down: the 503 took %v, want it at once", took)
		}
	}
	if code, body := readiness(t, g); code != 503 || status(body, "redis") != "fail" {
		t.Fatalf("Redis down: /readyz %d %v, want 503 with redis fail", code, body)
	}
	if got := g.Ollama.Stats().Requests; got != upstreamBefore {
		t.Fatalf("%d requests reached the upstream while Redis was down (free requests)", got-upstreamBefore)
	}

	proxy.Restore()
	restored := time.Now()
	eventually(t, 10*time.Second, "/readyz ready after Redis returned", func() bool {
		code, _ := readiness(t, g)
		return code == 200
	})
	ready := time.Since(restored)
	var served time.Duration
	eventually(t, 10*time.Second, "a request served after Redis returned", func() bool {
		a := ask(g, u.Key, "llama3.2:3b", 8)
		served = time.Since(restored)
		return a.code == 200
	})
	if a := ask(g, cold.Key, "llama3.2:3b", 8); a.code != 402 {
		t.Fatalf("cold key after recovery: %d %s, want 402 (it has no credits)", a.code, a.errCode)
	}
	if b := waitBalance(t, g, u.Account, 98); b.Total != 98 || b.Held != 0 {
		t.Fatalf("balance %+v, want 98: two requests billed", b)
	}
	if n := g.WaitUsage(t, u.Account, 2); n != 2 {
		t.Fatalf("%d usage records, want 2", n)
	}
	t.Logf("Redis down: 503 service_unavailable in at most %v; after Redis returned: ready in %v, serving in %v",
		slowest.Round(time.Millisecond), ready.Round(time.Millisecond), served.Round(time.Millisecond))
}

// deletePrefix deletes every key under the gateway's Redis prefix: what a
// FLUSHALL does to this deployment, without touching other tests' keys.
func deletePrefix(t *testing.T, g *gatewaytest.Gateway) int {
	t.Helper()
	ctx := context.Background()
	keys, err := g.App.Redis.Keys(ctx, g.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := g.App.Redis.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	return len(keys)
}

// TestFailure_RedisFlushedUnderLoad: Redis loses every key of the
// deployment while requests run. Requests keep being served; balances
// reload from the database; a grant is applied once; the gateway serves on.
//
// What the test tolerates, and why (docs/architecture.md "Two ways to run":
// Redis mode's record of truth is the database): usage settled in Redis but
// not yet written to the database when Redis lost it is lost (no usage
// record, no debit anywhere: the user's gain). Usage the writer had already
// read when Redis lost it is written after the balance was reloaded without
// it, so the live balance ends that many credits above the durable one (the
// user's gain again, and `ledger verify` reports it). Both are bounded by the
// requests that finished in the last moments before the flush: the test
// allows those that finished within 500 ms (5 usage flush intervals) before
// it.
func TestFailure_RedisFlushedUnderLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := gatewaytest.Start(t, gatewaytest.Options{Redis: true})
	liftRateLimit(t, g)
	u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	g.Fund(t, u.Account, 100000)
	// A grant portal-api committed and applied live, but died before marking
	// it live-applied: its reconciler passes it to Credit again later.
	const pendingAmount = 5000
	pending := wallet.Grant{Reference: "admin:pending-" + strconv.FormatInt(time.Now().UnixNano(), 36), Account: u.Account, Amount: pendingAmount, Kind: "admin"}
	now := time.Now().UTC()
	if _, err := g.DB.SQL.Exec(`INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, reason, created_at) VALUES (?, ?, 'admin', ?, 'test', ?)`,
		u.Account, pending.Reference, pendingAmount, now); err != nil {
		t.Fatal(err)
	}
	if _, err := g.DB.SQL.Exec(`UPDATE wallets SET balance_credits = balance_credits + ? WHERE account_id = ?`, pendingAmount, u.Account); err != nil {
		t.Fatal(err)
	}
	if applied, err := g.App.Wallet.Credit(ctx, pending); err != nil || !applied {
		t.Fatalf("live grant: %v %v", applied, err)
	}

	type done struct {
		at   time.Time
		code int
		err  string
	}
	var (
		mu       sync.Mutex
		results  []done
		finished atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := ask(g, u.Key, "llama3.2:3b", 8)
				mu.Lock()
				results = append(results, done{time.Now(), a.code, a.errCode})
				mu.Unlock()
				finished.Add(1)
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	eventually(t, 10*time.Second, "load before the flush", func() bool { return finished.Load() >= 100 })
	flushStart := time.Now()
	deleted := deletePrefix(t, g)
	flushEnd := time.Now()
	atFlush := finished.Load()
	eventually(t, 10*time.Second, "load after the flush", func() bool { return finished.Load() >= atFlush+100 })
	close(stop)
	wg.Wait()

	// The reconciler's retry of the unmarked grant: Redis lost the grant's
	// reference, and the reloaded balance left the grant out, so it applies
	// now, once.
	applied, err := g.App.Wallet.Credit(ctx, pending)
	if err != nil || !applied {
		t.Fatalf("reconciler's retry of the pending grant after the flush: applied %v, %v", applied, err)
	}
	if _, err := g.DB.SQL.Exec(`UPDATE credit_ledger SET live_applied_at = ? WHERE reference = ?`, time.Now().UTC(), pending.Reference); err != nil {
		t.Fatal(err)
	}
	if applied, err := g.App.Wallet.Credit(ctx, pending); err != nil || applied {
		t.Fatalf("a repeated grant applied again: %v %v", applied, err)
	}

	ok, window := 0, 0
	for _, r := range results {
		if r.code != 200 {
			t.Fatalf("a request failed around the flush: %d %s", r.code, r.err)
		}
		ok++
		if !r.at.Before(flushStart.Add(-500*time.Millisecond)) && !r.at.After(flushEnd) {
			window++
		}
	}
	eventually(t, 10*time.Second, "the usage streams drained into the database", func() bool {
		n, err := g.App.Usage.Backlog(ctx)
		return err == nil && n == 0
	})
	s := durable(t, g.DB, u.Account)
	checkLedger(t, s)
	lost := ok - s.records
	if lost < 0 || lost > window {
		t.Fatalf("%d requests served, %d usage records: %d lost, want 0 to %d (those that finished within 500 ms before the flush)",
			ok, s.records, lost, window)
	}
	live := g.Balance(t, u.Account)
	gain := int64(live.Total) - s.wallet
	if live.Held != 0 || gain < 0 || gain > int64(window) {
		t.Fatalf("live balance %+v, durable %d: live - durable = %d, want 0 to %d (a grant applied twice shows as %d more)",
			live, s.wallet, gain, window, pendingAmount)
	}
	if a := ask(g, u.Key, "llama3.2:3b", 8); a.code != 200 {
		t.Fatalf("after the flush: %d %s", a.code, a.errCode)
	}
	t.Logf("Redis flushed (%d keys) under load: %d requests, all 200; %d finished within 500 ms before the flush; usage lost %d; "+
		"live balance - durable = %d credits; durable balance = grants %d - debits %d; pending grant applied once",
		deleted, ok, window, lost, gain, s.grants, s.debits)
}

// TestFailure_DatabaseDownRedisModeServesWarmKeysAndKeepsUsage: MariaDB is
// cut off (through a proxy): warm keys are still served, a cold key gets
// 503, usage waits in the Redis stream; when the database returns every
// usage record appears, exactly once.
func TestFailure_DatabaseDownRedisModeServesWarmKeysAndKeepsUsage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, dsn := testenv.MariaDB(t)
	gatewaytest.Plans(t, db)
	cfg, err := mysqldrv.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := gatewaytest.NewProxy(t, cfg.Addr)
	cfg.Addr = proxy.Addr()
	g := gatewaytest.Start(t, gatewaytest.Options{Redis: true, DSN: cfg.FormatDSN()})
	liftRateLimit(t, g)
	u := gatewaytest.NewUser(t, db, "", time.Time{})
	cold := gatewaytest.NewUser(t, db, "", time.Time{})
	g.Fund(t, u.Account, 100)
	if a := ask(g, u.Key, "llama3.2:3b", 8); a.code != 200 {
		t.Fatalf("warm-up: %d %s", a.code, a.errCode)
	}
	eventually(t, 10*time.Second, "the warm-up's usage record written and acknowledged", func() bool {
		b, err := g.App.Usage.Backlog(ctx)
		return err == nil && b == 0 && gatewaytest.UsageCount(t, db, u.Account) == 1
	})
	failedBefore := g.App.Usage.Stats().FailedBatches

	proxy.Cut()
	const n = 5
	for i := range n {
		if a := ask(g, u.Key, "llama3.2:3b", 8); a.code != 200 {
			t.Fatalf("database down, warm key, request %d: %d %s, want 200", i, a.code, a.errCode)
		}
	}
	if a := ask(g, cold.Key, "llama3.2:3b", 8); a.code != 503 || a.errCode != "service_unavailable" {
		t.Fatalf("database down, cold key: %d %s, want 503 service_unavailable", a.code, a.errCode)
	}
	if code, body := readiness(t, g); code != 200 || status(body, "database") != "degraded" {
		t.Fatalf("database down in Redis mode: /readyz %d %v, want 200 with database degraded", code, body)
	}
	if backlog, err := g.App.Usage.Backlog(ctx); err != nil || backlog != n {
		t.Fatalf("usage waiting in the streams: %d (%v), want %d", backlog, err, n)
	}
	// The writer tried and failed: the usage waits, it is not dropped.
	eventually(t, 10*time.Second, "the usage writer to fail a batch", func() bool {
		return g.App.Usage.Stats().FailedBatches > failedBefore
	})
	if got := gatewaytest.UsageCount(t, db, u.Account); got != 1 {
		t.Fatalf("%d usage records while the database was cut off", got)
	}

	proxy.Restore()
	restored := time.Now()
	eventually(t, 15*time.Second, "the usage written after the database returned", func() bool {
		return gatewaytest.UsageCount(t, db, u.Account) >= 1+n
	})
	writtenAfter := time.Since(restored)
	eventually(t, 5*time.Second, "the streams drained", func() bool {
		b, err := g.App.Usage.Backlog(ctx)
		return err == nil && b == 0
	})
	s := durable(t, db, u.Account)
	checkLedger(t, s)
	if s.records != 1+n || s.wallet != 100-(1+n) {
		t.Fatalf("%d usage records, durable balance %d; want %d and %d", s.records, s.wallet, 1+n, 100-(1+n))
	}
	if live := g.Balance(t, u.Account); live.Total != resayil.Credits(s.wallet) || live.Held != 0 {
		t.Fatalf("live balance %+v, durable %d", live, s.wallet)
	}
	if a := ask(g, cold.Key, "llama3.2:3b", 8); a.code != 402 {
		t.Fatalf("cold key after the database returned: %d %s, want 402 (no credits)", a.code, a.errCode)
	}
	st := g.App.Usage.Stats()
	t.Logf("database down: %d warm requests served, cold key 503; usage written %v after the database returned (%d failed batch attempts, %d duplicates skipped); %d records, exactly once",
		n, writtenAfter.Round(time.Millisecond), st.FailedBatches, st.Duplicates, s.records)
}

// TestFailure_CleanShutdownDuringStreamsLosesNoUsage: the gateway is stopped
// while streams run; those that end within the shutdown grace finish, the
// rest are ended by the drain; every request has exactly one usage record
// once Stop returns (Redis mode: the writer flushed on Close), and the
// balance is grants minus debits, live and durable.
func TestFailure_CleanShutdownDuringStreamsLosesNoUsage(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			// 400 tokens 10 ms apart: a full stream lasts 4 s, past the 2 s grace.
			up := fakeollama.New(fakeollama.WithTokens(400), fakeollama.WithChunkDelay(10*time.Millisecond))
			t.Cleanup(up.Close)
			o := m.opts
			o.Ollama = up
			// 8 slots: all streams run at once instead of queueing for one.
			o.Env = []string{"RESAYIL_SHUTDOWN_TIMEOUT=2s", "RESAYIL_OLLAMA_URLS=" + up.URL() + "|8"}
			g := gatewaytest.Start(t, o)
			liftRateLimit(t, g)
			u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
			g.Fund(t, u.Account, 10000)
			const n = 8
			started := make(chan struct{}, n)
			type result struct {
				chunks int
				err    error
			}
			results := make(chan result, n)
			for i := range n {
				var maxTokens int64
				if i%2 == 0 {
					maxTokens = 60 // 0.6 s: ends within the grace
				}
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					s := client(g, u.Key).Chat.Completions.NewStreaming(ctx, params("llama3.2:3b", maxTokens))
					defer s.Close()
					chunks := 0
					for s.Next() {
						if chunks++; chunks == 1 {
							started <- struct{}{}
						}
					}
					if chunks == 0 {
						started <- struct{}{}
					}
					results <- result{chunks, s.Err()}
				}()
			}
			deadline := time.After(10 * time.Second)
			for range n {
				select {
				case <-started:
				case <-deadline:
					t.Fatal("streams did not start")
				}
			}
			stopAt := time.Now()
			g.Stop(t)
			stopTook := time.Since(stopAt)
			// No waiting: once Stop returned, every request is recorded.
			s := durable(t, g.DB, u.Account)
			checkLedger(t, s)
			if s.records != n {
				var backlog int64
				if g.App.Usage != nil {
					backlog, _ = g.App.Usage.Backlog(context.Background())
				}
				t.Fatalf("%s mode: %d usage records right after Stop, want %d (%d usage events left in the Redis streams)", m.name, s.records, n, backlog)
			}
			byStatus := map[string]int{}
			rows, err := g.DB.SQL.Query(`SELECT status, COUNT(*) FROM usage_records WHERE account_id = ? GROUP BY status`, u.Account)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var st string
				var c int
				if err := rows.Scan(&st, &c); err != nil {
					t.Fatal(err)
				}
				byStatus[st] = c
			}
			rows.Close()
			if byStatus["ok"] != n/2 || byStatus["shutdown"] != n/2 {
				t.Fatalf("usage statuses %v, want %d ok (ended within the grace) and %d shutdown (ended by the drain)", byStatus, n/2, n/2)
			}
			if live := g.Balance(t, u.Account); live.Total != resayil.Credits(s.wallet) || live.Held != 0 {
				t.Fatalf("live balance %+v, durable %d (grants %d - debits %d)", live, s.wallet, s.grants, s.debits)
			}
			var clientSaw []string
			for range n {
				r := <-results
				e := "complete"
				if r.err != nil {
					e = r.err.Error()
					if len(e) > 60 {
						e = e[:60]
					}
				}
				clientSaw = append(clientSaw, fmt.Sprintf("%d chunks/%s", r.chunks, e))
			}
			t.Logf("%s mode: Stop took %v with %d streams running; usage %v, %d debited, balance %d = grants %d - debits %d; clients saw %v",
				m.name, stopTook.Round(time.Millisecond), n, byStatus, s.debits, s.wallet, s.grants, s.debits, clientSaw)
		})
	}
}

// TestFailure_ShutdownEndsNonStreamingCallsPastTheGrace: a non-streaming
// request whose upstream has not answered when the shutdown grace ends is
// aborted (fasthttp's client takes no context; Backend.Abort closes its
// connections), so Stop returns soon after the grace rather than after the
// first-byte timeout; the client gets an error and nothing is charged or
// left held.
func TestFailure_ShutdownEndsNonStreamingCallsPastTheGrace(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			up := fakeollama.New()
			t.Cleanup(up.Close)
			o := m.opts
			o.Ollama = up
			o.Env = []string{"RESAYIL_SHUTDOWN_TIMEOUT=1s", "RESAYIL_UPSTREAM_FIRST_BYTE_TIMEOUT=60s"}
			g := gatewaytest.Start(t, o)
			u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
			g.Fund(t, u.Account, 1000)
			up.Pause() // the upstream never answers
			errc := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err := client(g, u.Key).Chat.Completions.New(ctx, params("llama3.2:3b", 16))
				errc <- err
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := up.WaitInFlight(ctx, 1); err != nil {
				t.Fatal(err)
			}
			stopAt := time.Now()
			g.Stop(t)
			if took := time.Since(stopAt); took > 8*time.Second {
				t.Fatalf("Stop took %v with a non-streaming call in flight (grace 1s)", took)
			}
			select {
			case err := <-errc:
				if err == nil {
					t.Fatal("the aborted request succeeded")
				}
			case <-ctx.Done():
				t.Fatal("the client got no answer")
			}
			up.Resume()
			if b := g.Balance(t, u.Account); b.Total != 1000 || b.Held != 0 {
				t.Fatalf("balance %+v after an aborted request, want 1000 and nothing held", b)
			}
			noSlotTaken(t, g)
		})
	}
}

// TestFailure_MetricsLabelModelsByCatalogIDOnly: /metrics on the internal
// address counts requests by catalog model id; unknown and restricted
// models count as "other", so no client string becomes a label.
func TestFailure_MetricsLabelModelsByCatalogIDOnly(t *testing.T) {
	t.Parallel()
	g := gatewaytest.Start(t, gatewaytest.Options{})
	if g.MetricsURL == "" {
		t.Fatal("no metrics address")
	}
	u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	g.Fund(t, u.Account, 100)
	for _, c := range []struct {
		model string
		code  int
	}{
		{"llama3.2:3b", 200}, {"llama3.2:3b", 200},
		{"glm-4.7-flash", 404},          // restricted
		{"secret-client-model:v9", 404}, // unknown
		{"llama3.1:70b", 403},           // above Basic
	} {
		if a := ask(g, u.Key, c.model, 8); a.code != c.code {
			t.Fatalf("%s: %d %s, want %d", c.model, a.code, a.errCode, c.code)
		}
	}
	s := client(g, u.Key).Chat.Completions.NewStreaming(context.Background(), params("llama3.2:3b", 8))
	for s.Next() {
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	scrape := func() string {
		resp, err := http.Get(g.MetricsURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("/metrics: %d", resp.StatusCode)
		}
		return string(b)
	}
	want := []string{
		`resayil_gateway_requests_total{backend="local",model="llama3.2:3b",status="200"} 3`,
		`resayil_gateway_requests_total{backend="none",model="other",status="404"} 2`,
		`resayil_gateway_requests_total{backend="none",model="llama3.1:70b",status="403"} 1`,
		`resayil_gateway_refused_total{model="other",reason="model_not_found"} 2`,
	}
	var body string
	// The stream is counted when it settles, just after its last event.
	eventually(t, 5*time.Second, "the stream counted", func() bool {
		body = scrape()
		return strings.Contains(body, want[0])
	})
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Fatalf("/metrics lacks %s:\n%s", w, grepLines(body, "resayil_gateway_re"))
		}
	}
	for _, leak := range []string{"glm-4.7-flash", "secret-client-model"} {
		if strings.Contains(body, leak) {
			t.Fatalf("/metrics names %q:\n%s", leak, grepLines(body, leak))
		}
	}
	// Metrics are on the internal address only.
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("/metrics on the public listener: %d, want 404", resp.StatusCode)
	}
	t.Logf("metrics:\n%s", grepLines(body, "resayil_gateway_requests_total"))
}

func grepLines(body, substr string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
