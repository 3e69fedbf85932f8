package heartbeat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/fake/fakecloud"
	"github.com/resayil/portal/pkg/fake/fakeollama"
	"github.com/resayil/portal/pkg/heartbeat"
	"github.com/resayil/portal/pkg/heartbeat/heartbeatredis"
	"github.com/resayil/portal/pkg/testenv"
)

// clock is the gateway's settable clock: heartbeats carry its time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// readOne reads the heartbeats under prefix and wants exactly one.
func readOne(t *testing.T, r *testenv.RedisEnv, prefix string) heartbeat.Snapshot {
	t.Helper()
	got, skipped, err := heartbeatredis.Read(testContext(t), r.Client, prefix)
	if err != nil || skipped != 0 || len(got) != 1 {
		t.Fatalf("heartbeats: %d (%d skipped), %v", len(got), skipped, err)
	}
	return got[0]
}

// In Redis mode the gateway writes its heartbeat under its id with a TTL of
// three intervals; it carries the gateway's clock, each host's URL without
// credentials, slots in use and queue depth (all replicas'), and a host
// the probes took out shows unhealthy in the next heartbeat. A clean
// shutdown removes the key.
func TestRedis_HeartbeatReflectsHostGoingUnhealthy(t *testing.T) {
	t.Parallel()
	dead, live := fakeollama.New(), fakeollama.New()
	t.Cleanup(dead.Close)
	t.Cleanup(live.Close)
	liveURL := strings.Replace(live.URL(), "http://", "http://ops:s3cret@", 1)
	clk := &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	g := gatewaytest.Start(t, gatewaytest.Options{Redis: true, Ollama: live, Now: clk.Now, Env: []string{
		"RESAYIL_OLLAMA_URLS=" + dead.URL() + "|2," + liveURL + "|1",
		"RESAYIL_GATEWAY_ID=gw-a", "RESAYIL_GATEWAY_HEARTBEAT_INTERVAL=1h", "RESAYIL_UPSTREAM_HEALTH_INTERVAL=1h",
	}})
	r := testenv.Redis(t)
	ctx := testContext(t)
	pub := g.App.Heartbeat

	if err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	s := readOne(t, r, g.Prefix)
	want := heartbeat.Snapshot{
		Version: 1, Gateway: "gw-a", At: clk.Now(), Mode: "redis", Shared: true,
		Hosts: []heartbeat.Host{
			{URL: dead.URL(), Healthy: true, SlotsTotal: 2},
			{URL: live.URL(), Healthy: true, SlotsTotal: 1},
		},
		QueueByTier: map[string]int{},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("first heartbeat (-want +got):\n%s", diff)
	}
	ttl, err := r.Client.PTTL(ctx, heartbeat.Key(g.Prefix, "gw-a")).Result()
	if err != nil || ttl <= 2*time.Hour || ttl > 3*time.Hour {
		t.Fatalf("heartbeat TTL %s, %v; want three intervals (3h)", ttl, err)
	}

	// Three failed probes take the dead host out.
	dead.Close()
	for range 3 {
		g.App.Router.Probe(ctx)
	}
	// One request holds the live host's only slot and a Basic one waits.
	pool := g.App.Router.Pool()
	slot, err := pool.Acquire(ctx, capacity.Request{ID: "hold", Hosts: []string{g.App.Router.Hosts()[1].ID}, Wait: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWaiter := context.WithCancel(ctx)
	waited := make(chan error, 1)
	go func() {
		_, err := pool.Acquire(wctx, capacity.Request{ID: "wait", Hosts: []string{g.App.Router.Hosts()[1].ID}, Wait: time.Minute})
		waited <- err
	}()
	t.Cleanup(func() { stopWaiter(); <-waited; slot.Release() })

	clk.mu.Lock()
	clk.now = clk.now.Add(5 * time.Second)
	clk.mu.Unlock()
	// The router refreshes its counts every second: wait for them.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := pub.Publish(ctx); err != nil {
			t.Fatal(err)
		}
		s = readOne(t, r, g.Prefix)
		if s.Hosts[1].SlotsInUse == 1 && s.QueueDepth == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat never counted the held slot and the waiter: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	want.At = clk.Now()
	want.Hosts[0].Healthy = false
	want.Hosts[1].SlotsInUse = 1
	want.QueueDepth, want.QueueByTier = 1, map[string]int{"basic": 1}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("heartbeat after the host went out (-want +got):\n%s", diff)
	}
	raw, err := r.Client.Get(ctx, heartbeat.Key(g.Prefix, "gw-a")).Result()
	if err != nil || strings.Contains(raw, "s3cret") || strings.Contains(raw, "ops:") {
		t.Fatalf("stored heartbeat %q, %v: it must not carry the host's credentials", raw, err)
	}

	g.Stop(t)
	if n, err := r.Client.Exists(ctx, heartbeat.Key(g.Prefix, "gw-a")).Result(); err != nil || n != 0 {
		t.Fatalf("heartbeat still stored after a clean shutdown: %d, %v", n, err)
	}
	if ids := r.Client.SMembers(ctx, heartbeat.IndexKey(g.Prefix)).Val(); len(ids) != 0 {
		t.Fatalf("gateway still indexed after a clean shutdown: %v", ids)
	}
}

func getStatus(t *testing.T, g *gatewaytest.Gateway) heartbeat.Snapshot {
	t.Helper()
	resp, err := http.Get(g.MetricsURL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /status: %d %v %s", resp.StatusCode, resp.Header, b)
	}
	s, err := heartbeat.Decode(b)
	if err != nil {
		t.Fatalf("GET /status: %v in %s", err, b)
	}
	return s
}

// In embedded mode GET /status on the metrics listener returns the same
// snapshot: this process's counts (not shared), and the cloud's failover
// state.
func TestEmbedded_StatusEndpoint(t *testing.T) {
	t.Parallel()
	cloud := fakecloud.New()
	t.Cleanup(cloud.Close)
	clk := &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	g := gatewaytest.Start(t, gatewaytest.Options{Now: clk.Now, Env: []string{
		"RESAYIL_GATEWAY_ID=solo", "RESAYIL_CLOUD_URL=" + cloud.URL(), "RESAYIL_CLOUD_API_KEY=" + fakecloud.DefaultAPIKey,
		"RESAYIL_UPSTREAM_HEALTH_INTERVAL=1h",
	}})
	s := getStatus(t, g)
	want := heartbeat.Snapshot{
		Version: 1, Gateway: "solo", At: clk.Now(), Mode: "embedded", Shared: false,
		Hosts:       []heartbeat.Host{{URL: g.Ollama.URL(), Healthy: true, SlotsTotal: 1}},
		QueueByTier: map[string]int{},
		// Today's budget is read by the router's loop; its figures are
		// checked below, once known.
		Cloud: heartbeat.Cloud{Configured: true, Healthy: true, Failover: true,
			BudgetKnown: s.Cloud.BudgetKnown, BudgetUsed: s.Cloud.BudgetUsed, BudgetCap: s.Cloud.BudgetCap},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Fatalf("GET /status (-want +got):\n%s", diff)
	}
	if s.Cloud.BudgetKnown && (s.Cloud.BudgetCap != 500 || s.Cloud.BudgetUsed != 0) {
		t.Fatalf("cloud budget %+v, want 0 of the default 500", s.Cloud)
	}

	// Failover stops when the cloud is out of service.
	cloud.Close()
	// Probed until it counts as out: the router's own first probe, begun
	// while the cloud was up, may still land after ours and reset the
	// count of failures. The cloud's health reaches the snapshot with the
	// router's next refresh (every second).
	deadline := time.Now().Add(20 * time.Second)
	for s := getStatus(t, g); s.Cloud.Healthy || s.Cloud.Failover || !s.Cloud.Configured; s = getStatus(t, g) {
		if time.Now().After(deadline) {
			t.Fatalf("cloud after failed probes: %+v", s.Cloud)
		}
		g.App.Router.Probe(testContext(t))
		time.Sleep(20 * time.Millisecond)
	}

	resp, err := http.Post(g.MetricsURL+"/status", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /status: %d", resp.StatusCode)
	}
	// /metrics still answers beside it.
	resp, err = http.Get(g.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
}

// The snapshot's JSON is the documented contract portal-api reads.
func TestSnapshot_JSONFieldNames(t *testing.T) {
	b, err := heartbeat.Encode(heartbeat.Snapshot{Gateway: "g", At: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
		Hosts: []heartbeat.Host{{URL: "http://h:1", Healthy: true, SlotsInUse: 1, SlotsTotal: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(m)
	want := "map[at:2025-01-02T03:04:05Z cloud:map[budget_cap:0 budget_known:false budget_used:0 configured:false failover:false healthy:false] gateway:g hosts:[map[healthy:true slots_in_use:1 slots_total:2 url:http://h:1]] mode: queue_by_tier:<nil> queue_depth:0 shared:false version:1]"
	if got != want {
		t.Fatalf("JSON\n got %s\nwant %s", got, want)
	}
}
