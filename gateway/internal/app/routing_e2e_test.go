package app_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetredis"
	"github.com/resayil/portal/pkg/fake/fakecloud"
	"github.com/resayil/portal/pkg/fake/fakeollama"
	"github.com/resayil/portal/pkg/testenv"
)

// cluster is n gateway processes sharing one database and, in Redis mode,
// one Redis prefix: the replicas of one deployment.
type cluster struct {
	gws   []*gatewaytest.Gateway
	cloud *fakecloud.Server
}

type clusterOpts struct {
	redis bool
	n     int
	// ollama are the local hosts, each with one slot unless slots says.
	ollama []*fakeollama.Server
	slots  []int
	cloud  bool
	env    []string
	now    func() time.Time
}

// startCluster creates the database (plans with rate limits high enough
// for the test's concurrency) and starts the gateways.
func startCluster(t *testing.T, o clusterOpts) *cluster {
	t.Helper()
	db, dsn := testenv.SQLite(t)
	gatewaytest.Plans(t, db)
	for _, p := range []string{"basic", "pro", "enterprise"} {
		gatewaytest.SetRateLimit(t, db, p, 100000)
	}
	var urls []string
	for i, s := range o.ollama {
		n := 1
		if i < len(o.slots) {
			n = o.slots[i]
		}
		urls = append(urls, fmt.Sprintf("%s|%d", s.URL(), n))
	}
	env := append([]string{"RESAYIL_OLLAMA_URLS=" + strings.Join(urls, ",")}, o.env...)
	c := &cluster{}
	if o.cloud {
		c.cloud = fakecloud.New()
		t.Cleanup(c.cloud.Close)
		env = append(env, "RESAYIL_CLOUD_URL="+c.cloud.URL(), "RESAYIL_CLOUD_API_KEY="+fakecloud.DefaultAPIKey)
	}
	prefix := ""
	for range max(o.n, 1) {
		g := gatewaytest.Start(t, gatewaytest.Options{Redis: o.redis, Ollama: o.ollama[0], DSN: dsn, RedisPrefix: prefix, Env: env, Now: o.now})
		prefix = g.Prefix
		c.gws = append(c.gws, g)
	}
	return c
}

func (c *cluster) g(i int) *gatewaytest.Gateway { return c.gws[i%len(c.gws)] }

func (c *cluster) user(t *testing.T, plan string) gatewaytest.User {
	t.Helper()
	var exp time.Time
	if plan != "" {
		exp = time.Now().Add(30 * 24 * time.Hour)
	}
	u := gatewaytest.NewUser(t, c.gws[0].DB, plan, exp)
	c.gws[0].Fund(t, u.Account, 1_000_000)
	return u
}

// waiting returns the requests queued for a local slot (all replicas in
// Redis mode).
func (c *cluster) waiting(t *testing.T) int {
	t.Helper()
	st, err := c.gws[0].App.Router.Pool().Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, w := range st.Waiting {
		n += w
	}
	return n
}

func (c *cluster) waitQueued(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := c.waiting(t)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests waiting, want %d", got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type answer struct {
	status int
	header http.Header
	body   []byte
	done   time.Time
}

func (a answer) String() string { return fmt.Sprintf("%d %s", a.status, a.body) }

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000, MaxConnsPerHost: 0}, Timeout: 60 * time.Second}

// post sends a chat request and reads the whole answer.
func post(t *testing.T, g *gatewaytest.Gateway, key, model string, stream bool) answer {
	t.Helper()
	body := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello fake world"}],"stream":%v}`, model, stream)
	req, err := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return answer{}
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Error(err)
		return answer{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Error(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b, done: time.Now()}
}

// async sends post in the background.
func async(t *testing.T, g *gatewaytest.Gateway, key, model string, stream bool) <-chan answer {
	ch := make(chan answer, 1)
	go func() { ch <- post(t, g, key, model, stream) }()
	return ch
}

func wantBusy(t *testing.T, a answer) {
	t.Helper()
	if a.status != 503 || !strings.Contains(string(a.body), `"code":"server_busy"`) || a.header.Get("Retry-After") == "" || a.header.Get("x-should-retry") != "" {
		t.Fatalf("want 503 server_busy with Retry-After and no x-should-retry, got %s %v", a, a.header)
	}
}

func wantServed(t *testing.T, a answer, backend string) {
	t.Helper()
	if a.status != 200 || a.header.Get("x-resayil-backend") != backend {
		t.Fatalf("want 200 from %s, got %s (backend %q)", backend, a, a.header.Get("x-resayil-backend"))
	}
}

var routingModes = []struct {
	name  string
	redis bool
	n     int
}{
	{"embedded", false, 1},
	{"redis-3-gateways", true, 3},
}

// With more than 3 requests waiting for the local slot, a Pro request goes
// to the cloud (header, 2x debit) while Basic requests keep waiting and get
// 503 server_busy after the queue timeout. With 3 waiting, Pro still waits.
func TestE2E_LoadFailover_ProToCloudBasicWaits(t *testing.T) {
	for _, m := range routingModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ol := fakeollama.New()
			t.Cleanup(ol.Close)
			c := startCluster(t, clusterOpts{redis: m.redis, n: m.n, ollama: []*fakeollama.Server{ol}, cloud: true,
				env: []string{"RESAYIL_QUEUE_TIMEOUT=1500ms"}})
			basic, pro := c.user(t, ""), c.user(t, "pro")
			ctx := testContext(t)

			ol.Pause()
			holder := async(t, c.g(0), basic.Key, "llama3.2:3b", false)
			if err := ol.WaitInFlight(ctx, 1); err != nil {
				t.Fatal(err)
			}
			var basics []<-chan answer
			for i := range 3 {
				basics = append(basics, async(t, c.g(i), basic.Key, "llama3.2:3b", false))
				c.waitQueued(t, i+1)
			}
			// 3 waiting is not more than 3: this Pro request waits too.
			proWaits := async(t, c.g(1), pro.Key, "llama3.2:3b", false)
			c.waitQueued(t, 4)
			basics = append(basics, async(t, c.g(2), basic.Key, "llama3.2:3b", true))
			c.waitQueued(t, 5)

			// 5 waiting: a Pro request goes to the cloud at once.
			before := c.g(1).Balance(t, pro.Account).Total
			a := post(t, c.g(1), pro.Key, "llama3.2:3b", false)
			wantServed(t, a, "cloud")
			if got := a.header.Get("x-resayil-credits-charged"); got != "2" {
				t.Fatalf("cloud debit %q credits, want 2 (1 credit x2)", got)
			}
			if after := c.g(1).Balance(t, pro.Account).Total; before-after != 2 {
				t.Fatalf("balance went from %d to %d", before, after)
			}
			if got := c.cloud.Stats().Requests; got != 1 {
				t.Fatalf("cloud got %d requests", got)
			}
			s := post(t, c.g(0), pro.Key, "llama3.2:3b", true)
			wantServed(t, s, "cloud")

			// The queued Pro request times out into the cloud; the Basic ones
			// get 503 and never reach it.
			wantServed(t, <-proWaits, "cloud")
			for _, ch := range basics {
				wantBusy(t, <-ch)
			}
			if got := c.cloud.Stats().Requests; got != 3 {
				t.Fatalf("cloud got %d requests, want 3 (Pro only)", got)
			}
			ol.Resume()
			wantServed(t, <-holder, "local")
			c.waitQueued(t, 0)
			var loads float64
			for _, g := range c.gws {
				loads += failovers(g, "load", "cloud")
			}
			if loads != 2 {
				t.Fatalf("failovers{reason=load,to=cloud} = %v, want 2", loads)
			}
		})
	}
}

// An Enterprise request arriving behind 10 waiting Basic requests is served
// first, then the Basic ones in arrival order, whichever replica queued
// them.
func TestE2E_EnterpriseServedBeforeTenWaitingBasic(t *testing.T) {
	for _, m := range routingModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			ol := fakeollama.New()
			t.Cleanup(ol.Close)
			c := startCluster(t, clusterOpts{redis: m.redis, n: m.n, ollama: []*fakeollama.Server{ol}, env: []string{"RESAYIL_QUEUE_TIMEOUT=20s"}})
			basic, ent := c.user(t, ""), c.user(t, "enterprise")
			ctx := testContext(t)
			ol.Pause()
			holder := async(t, c.g(0), basic.Key, "llama3.2:3b", false)
			if err := ol.WaitInFlight(ctx, 1); err != nil {
				t.Fatal(err)
			}
			type result struct {
				name string
				a    answer
			}
			results := make(chan result, 11)
			send := func(i int, name, key string) {
				go func() { results <- result{name, post(t, c.g(i), key, "llama3.2:3b", false)} }()
			}
			for i := range 10 {
				send(i, fmt.Sprintf("basic-%02d", i), basic.Key)
				c.waitQueued(t, i+1)
				// Not synchronisation (waitQueued is): arrival times one
				// clock tick apart, so that the queue's order among equals
				// is the order they were sent in.
				time.Sleep(time.Millisecond)
			}
			send(10, "enterprise", ent.Key)
			c.waitQueued(t, 11)
			// Each request then takes 30 ms at the host, far more than the
			// jitter between a slot's release and its client reading the
			// answer: completion order is grant order.
			ol.SetLatency(30 * time.Millisecond)
			ol.Resume()
			wantServed(t, <-holder, "local")
			var got []result
			for range 11 {
				r := <-results
				wantServed(t, r.a, "local")
				got = append(got, r)
			}
			slices.SortFunc(got, func(a, b result) int { return a.a.done.Compare(b.a.done) })
			var order []string
			for _, r := range got {
				order = append(order, r.name)
			}
			want := []string{"enterprise"}
			for i := range 10 {
				want = append(want, fmt.Sprintf("basic-%02d", i))
			}
			if !slices.Equal(order, want) {
				t.Fatalf("served %v, want %v", order, want)
			}
		})
	}
}

// A Basic request that has waited more than two aging steps is served
// before an Enterprise request that just arrived: nobody starves.
func TestE2E_AgingPreventsStarvation(t *testing.T) {
	ol := fakeollama.New()
	t.Cleanup(ol.Close)
	c := startCluster(t, clusterOpts{redis: true, n: 2, ollama: []*fakeollama.Server{ol}, env: []string{"RESAYIL_QUEUE_TIMEOUT=20s", "RESAYIL_QUEUE_AGING=200ms"}})
	basic, ent := c.user(t, ""), c.user(t, "enterprise")
	ol.Pause()
	holder := async(t, c.g(0), basic.Key, "llama3.2:3b", false)
	if err := ol.WaitInFlight(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	old := async(t, c.g(0), basic.Key, "llama3.2:3b", false)
	c.waitQueued(t, 1)
	time.Sleep(500 * time.Millisecond) // the time under test: more than 2 aging steps of waiting
	young := async(t, c.g(1), ent.Key, "llama3.2:3b", false)
	c.waitQueued(t, 2)
	ol.SetLatency(30 * time.Millisecond)
	ol.Resume()
	wantServed(t, <-holder, "local")
	a, b := <-old, <-young
	wantServed(t, a, "local")
	wantServed(t, b, "local")
	if !a.done.Before(b.done) {
		t.Fatal("the Enterprise request overtook a Basic request that had waited more than two aging steps")
	}
}

// A local host that refuses connections: requests go to the other host;
// when that one fails too (5xx before the first byte), Pro goes to the
// cloud and Basic gets the upstream error. The probes take the dead host
// out of service, and /readyz says so.
func TestE2E_HostDown_OtherHostThenCloud(t *testing.T) {
	for _, m := range routingModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			b := fakeollama.New()
			t.Cleanup(b.Close)
			deadURL := refusedURL(t)
			// The dead host is listed first so that it is tried first.
			c := startCluster(t, clusterOpts{redis: m.redis, n: m.n, ollama: []*fakeollama.Server{b}, cloud: true,
				env: []string{"RESAYIL_OLLAMA_URLS=" + deadURL + "|4," + b.URL() + "|1", "RESAYIL_UPSTREAM_HEALTH_INTERVAL=1h"}})
			basic, pro := c.user(t, ""), c.user(t, "pro")
			for i, stream := range []bool{false, true} {
				wantServed(t, post(t, c.g(i), pro.Key, "llama3.2:3b", stream), "local")
				wantServed(t, post(t, c.g(i), basic.Key, "llama3.2:3b", stream), "local")
			}
			if got := b.Stats().Completed; got != 4 {
				t.Fatalf("the live host served %d requests, want 4", got)
			}
			if c.cloud.Stats().Requests != 0 {
				t.Fatal("the cloud was used while a local host could serve")
			}
			b.FailNext(2, http.StatusInternalServerError)
			wantServed(t, post(t, c.g(0), pro.Key, "llama3.2:3b", true), "cloud")
			a := post(t, c.g(0), basic.Key, "llama3.2:3b", false)
			if a.status != 502 || a.header.Get("x-resayil-backend") != "" || strings.Contains(string(a.body), "127.0.0.1") {
				t.Fatalf("Basic with both hosts failing: %s", a)
			}
			if got := c.cloud.Stats().Requests; got != 1 {
				t.Fatalf("cloud got %d requests, want 1", got)
			}
			if v := (failovers(c.g(0), "unreachable", "local")); v < 1 {
				t.Fatalf("failovers{unreachable,local} = %v", v)
			}
			if v := (failovers(c.g(0), "error", "cloud")); v != 1 {
				t.Fatalf("failovers{error,cloud} = %v", v)
			}

			// Three failed probes take the dead host out; requests no longer
			// try it, and /readyz is degraded without naming it.
			r := c.g(0).App.Router
			for range 3 {
				r.Probe(context.Background())
			}
			if r.Hosts()[0].Healthy() || !r.Hosts()[1].Healthy() {
				t.Fatal("health after three failed probes")
			}
			code, body := readyz(t, c.g(0).App)
			if code != 200 || body["status"] != "degraded" {
				t.Fatalf("readyz %d %v", code, body)
			}
			checks, _ := body["checks"].(map[string]any)
			up, _ := checks["upstreams"].(map[string]any)
			if msg, _ := up["error"].(string); !strings.Contains(msg, "1 of 2 local hosts out of service") || strings.Contains(msg, "127.0.0.1") {
				t.Fatalf("readyz upstreams %v", up)
			}
			before := (failovers(c.g(0), "unreachable", "local"))
			wantServed(t, post(t, c.g(0), basic.Key, "llama3.2:3b", false), "local")
			if after := (failovers(c.g(0), "unreachable", "local")); after != before {
				t.Fatal("a host out of service was still tried")
			}
		})
	}
}

// Once the first byte reached the client, an upstream failure ends the
// stream with an error event: no other host, no cloud.
func TestE2E_FailureAfterFirstByteIsNotRetried(t *testing.T) {
	a, b := fakeollama.New(), fakeollama.New()
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	c := startCluster(t, clusterOpts{redis: true, n: 1, ollama: []*fakeollama.Server{a, b}, cloud: true})
	pro := c.user(t, "pro")
	a.FailMidStream(1, 2)
	ans := post(t, c.g(0), pro.Key, "llama3.2:3b", true)
	if ans.status != 200 || ans.header.Get("x-resayil-backend") != "local" {
		t.Fatalf("stream: %s", ans)
	}
	var events []string
	sc := bufio.NewScanner(bytes.NewReader(ans.body))
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, d)
		}
	}
	if len(events) < 2 || !strings.Contains(events[len(events)-1], `"error"`) || slices.Contains(events, "[DONE]") {
		t.Fatalf("events %q: want content, then an error event and no [DONE]", events)
	}
	if b.Stats().Requests != 0 || c.cloud.Stats().Requests != 0 || a.Stats().Requests != 1 {
		t.Fatalf("retried after the first byte: host a %d, host b %d, cloud %d requests", a.Stats().Requests, b.Stats().Requests, c.cloud.Stats().Requests)
	}
}

// 600 concurrent cloud-only requests (through 3 gateways in Redis mode) against a fresh
// budget of 500: exactly 500 reach the cloud, 100 get 503
// cloud_capacity_exhausted with x-should-retry: false, and the outbox gets
// one 80 % and one 100 % alert.
func TestE2E_CloudBudgetExactUnderConcurrency(t *testing.T) {
	for _, m := range routingModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			// Embedded mode scales the numbers down: its wallet is SQLite,
			// one writer at a time (the store's own suite runs 600 vs 500).
			limit := 500
			if !m.redis {
				limit = 100
			}
			testBudgetExact(t, m.redis, m.n, limit)
		})
	}
}

func testBudgetExact(t *testing.T, redis bool, n, limit int) {
	ol := fakeollama.New()
	t.Cleanup(ol.Close)
	c := startCluster(t, clusterOpts{redis: redis, n: n, ollama: []*fakeollama.Server{ol}, cloud: true, env: []string{fmt.Sprintf("RESAYIL_CLOUD_DAILY_BUDGET=%d", limit)}})
	total := limit + limit/5
	var users []gatewaytest.User
	for range 6 {
		users = append(users, c.user(t, "pro"))
	}
	var ok, exhausted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range total {
		wg.Go(func() {
			<-start
			a := post(t, c.g(i), users[i%len(users)].Key, "gpt-oss:120b-cloud", i%2 == 0)
			switch {
			case a.status == 200 && a.header.Get("x-resayil-backend") == "cloud":
				ok.Add(1)
			case a.status == 503 && strings.Contains(string(a.body), `"code":"cloud_capacity_exhausted"`) && a.header.Get("x-should-retry") == "false":
				exhausted.Add(1)
			default:
				t.Errorf("unexpected answer %s", a)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok.Load() != int64(limit) || exhausted.Load() != int64(total-limit) || c.cloud.Stats().Requests != limit {
		t.Fatalf("%d served by the cloud, %d exhausted, cloud saw %d; want %d, %d, %d", ok.Load(), exhausted.Load(), c.cloud.Stats().Requests, limit, total-limit, limit)
	}
	day := cloudbudget.DayOf(time.Now())
	waitAlerts(t, c.g(0), day, 1, 1)
	// No late duplicates either: every replica refreshes (what its
	// background loop does) and records what it sees, once more.
	for _, g := range c.gws {
		if _, err := g.App.Router.Budget().Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	waitAlerts(t, c.g(0), day, 1, 1)
	var payload string
	if err := c.g(0).DB.SQL.QueryRow(`SELECT payload FROM notifications WHERE dedupe_key = ?`, "cloud_budget_100:"+string(day)).Scan(&payload); err != nil || !strings.Contains(payload, fmt.Sprintf(`"cap":%d`, limit)) {
		t.Fatalf("100%% alert payload %s, %v", payload, err)
	}
	if st, _ := c.g(0).App.Router.Budget().Refresh(context.Background()); st.Used != int64(limit) || st.Cap != int64(limit) {
		t.Fatalf("budget state %+v", st)
	}
}

// waitAlerts waits until day has n80 80 % and n100 100 % alert rows.
func waitAlerts(t *testing.T, g *gatewaytest.Gateway, day cloudbudget.Day, n80, n100 int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var a80, a100 int
		count := func(key string, n *int) {
			if err := g.DB.SQL.QueryRow(`SELECT COUNT(*) FROM notifications WHERE dedupe_key = ? AND event = ? AND audience = 'admins' AND status = 'pending'`,
				key, strings.Split(key, ":")[0]).Scan(n); err != nil {
				t.Fatal(err)
			}
		}
		count(cloudbudget.Alert80.DedupeKey(day), &a80)
		count(cloudbudget.Alert100.DedupeKey(day), &a100)
		if a80 == n80 && a100 == n100 {
			return
		}
		if time.Now().After(deadline) || a80 > n80 || a100 > n100 {
			t.Fatalf("day %s: %d 80%% and %d 100%% alerts, want %d and %d", day, a80, a100, n80, n100)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// manualClock is a settable clock for the gateway's budget day.
type manualClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// The budget is per Kuwait day: exhausted at 23:59:59 Asia/Kuwait, it has
// room again at 00:00:00, and the alerts are the first day's only.
func TestE2E_CloudBudgetDayTurnsAtMidnightKuwait(t *testing.T) {
	for _, m := range routingModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			kw := time.FixedZone("Asia/Kuwait", 3*3600)
			clock := &manualClock{now: time.Date(2031, 5, 6, 23, 59, 58, 0, kw)}
			ol := fakeollama.New()
			t.Cleanup(ol.Close)
			c := startCluster(t, clusterOpts{redis: m.redis, n: m.n, ollama: []*fakeollama.Server{ol}, cloud: true, now: clock.Now,
				env: []string{"RESAYIL_CLOUD_DAILY_BUDGET=2"}})
			pro := c.user(t, "pro")
			g := c.g(0)
			wantServed(t, post(t, g, pro.Key, "gpt-oss:120b-cloud", false), "cloud")
			clock.Set(time.Date(2031, 5, 6, 23, 59, 59, 999_000_000, kw))
			wantServed(t, post(t, g, pro.Key, "gpt-oss:120b-cloud", false), "cloud")
			a := post(t, g, pro.Key, "gpt-oss:120b-cloud", false)
			if a.status != 503 || a.header.Get("x-should-retry") != "false" || !strings.Contains(string(a.body), "cloud_capacity_exhausted") {
				t.Fatalf("third request of the day: %s", a)
			}
			waitAlerts(t, g, "2031-05-06", 1, 1)

			clock.Set(time.Date(2031, 5, 7, 0, 0, 0, 0, kw))
			wantServed(t, post(t, g, pro.Key, "gpt-oss:120b-cloud", false), "cloud")
			if st, known := g.App.Router.Budget().State(); !known || st.Day != "2031-05-07" || st.Used != 1 || st.Cap != 2 {
				t.Fatalf("new day's state %+v (known %v)", st, known)
			}
			waitAlerts(t, g, "2031-05-07", 0, 0)
			waitAlerts(t, g, "2031-05-06", 1, 1)
		})
	}
}

// An operator raising today's cap (portal-api cloud-budget set: the store,
// then a cloud_budget_changed event) reaches every gateway within 5 s.
func TestE2E_CloudBudgetCapChangeReachesEveryGateway(t *testing.T) {
	ol := fakeollama.New()
	t.Cleanup(ol.Close)
	c := startCluster(t, clusterOpts{redis: true, n: 3, ollama: []*fakeollama.Server{ol}, cloud: true, env: []string{"RESAYIL_CLOUD_DAILY_BUDGET=1"}})
	pro := c.user(t, "pro")
	wantServed(t, post(t, c.g(0), pro.Key, "gpt-oss:120b-cloud", false), "cloud")
	for i := range 3 {
		if a := post(t, c.g(i), pro.Key, "gpt-oss:120b-cloud", false); a.status != 503 {
			t.Fatalf("gateway %d after the cap: %s", i, a)
		}
	}
	r := testenv.Redis(t)
	store, err := cloudbudgetredis.New(r.Client, cloudbudgetredis.Config{Prefix: c.g(0).Prefix, DefaultCap: 1})
	if err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	if _, err := store.SetCap(context.Background(), cloudbudget.DayOf(time.Now()), 10); err != nil {
		t.Fatal(err)
	}
	bus := accounteventsredis.New(r.Client, accounteventsredis.Config{Prefix: c.g(0).Prefix})
	if err := bus.Publish(context.Background(), accountevents.Event{Kind: accountevents.KindCloudBudgetChanged}); err != nil {
		t.Fatal(err)
	}
	for i, g := range c.gws {
		for {
			if st, _ := g.App.Router.Budget().State(); st.Cap == 10 {
				break
			}
			if time.Since(changed) > 5*time.Second {
				t.Fatalf("gateway %d did not see the new cap within 5 s", i)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	t.Logf("new cap seen by all 3 gateways after %s", time.Since(changed).Round(time.Millisecond))
	wantServed(t, post(t, c.g(2), pro.Key, "gpt-oss:120b-cloud", false), "cloud")
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// failovers reads resayil_gateway_failovers_total{reason,to} of g.
func failovers(g *gatewaytest.Gateway, reason, to string) float64 {
	mfs, err := g.App.Metrics.Registry().Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != "resayil_gateway_failovers_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["reason"] == reason && labels["to"] == to {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
