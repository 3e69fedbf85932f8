package capacity_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/heartbeat"
	"github.com/resayil/portal/pkg/heartbeat/heartbeatredis"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/capacity"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// redisGateway is what a Redis-mode gateway publishes: counts shared by
// every replica, health from its own probes.
func redisGateway(id string, at time.Time, gpu1Healthy bool, inUse, queue int) heartbeat.Snapshot {
	return heartbeat.Snapshot{
		Gateway: id, At: at, Mode: heartbeat.ModeRedis, Shared: true,
		Hosts: []heartbeat.Host{
			{URL: "http://gpu1:11434", Healthy: gpu1Healthy, SlotsInUse: inUse, SlotsTotal: 4},
			{URL: "http://gpu2:11434", Healthy: true, SlotsInUse: 1, SlotsTotal: 2},
		},
		QueueDepth: queue, QueueByTier: map[string]int{"basic": queue},
		Cloud: heartbeat.Cloud{Configured: true, Healthy: true, BudgetKnown: true, BudgetUsed: 10, BudgetCap: 500, Failover: true},
	}
}

func publish(t *testing.T, r *testenv.RedisEnv, prefix string, s heartbeat.Snapshot) {
	t.Helper()
	if err := heartbeatredis.Publish(testContext(t), r.Client, prefix, s, 15*time.Second); err != nil {
		t.Fatal(err)
	}
}

// Two Redis-mode gateways: one sees gpu1 out, the other does not. The
// shared counts are taken once, from the newer heartbeat, not added up;
// another deployment's heartbeats (another prefix) are not read.
func TestRead_RedisMergesTwoGateways(t *testing.T) {
	t.Parallel()
	r := testenv.Redis(t)
	publish(t, r, r.Prefix, redisGateway("gw-a", t0.Add(-4*time.Second), true, 2, 5))
	publish(t, r, r.Prefix, redisGateway("gw-b", t0.Add(-1*time.Second), false, 3, 1))
	publish(t, r, r.Prefix+"other:", redisGateway("gw-x", t0, true, 9, 9))

	got := capacity.New(capacity.Config{Redis: r.Client, Prefix: r.Prefix, Now: func() time.Time { return t0 }}).Read(testContext(t))
	want := capacity.Overview{
		Status: capacity.StatusDegraded, CheckedAt: t0, MaxAge: 15 * time.Second,
		Gateways: []capacity.Gateway{
			{ID: "gw-a", Mode: "redis", At: t0.Add(-4 * time.Second)},
			{ID: "gw-b", Mode: "redis", At: t0.Add(-1 * time.Second)},
		},
		Hosts: []capacity.Host{
			{URL: "http://gpu1:11434", Health: capacity.HealthMixed, Reports: 2, Healthy: 1, SlotsInUse: 3, SlotsTotal: 4},
			{URL: "http://gpu2:11434", Health: capacity.HealthHealthy, Reports: 2, Healthy: 2, SlotsInUse: 1, SlotsTotal: 2},
		},
		QueueDepth: 1, QueueByTier: map[string]int{"basic": 1},
		Failover: capacity.FailoverOn,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("overview (-want +got):\n%s", diff)
	}
}

// A heartbeat older than MaxAge by the portal's clock is not shown: with
// nothing else, the view is unknown, and says which gateway went stale.
// An unreadable value under the key space is skipped and reported.
func TestRead_StaleHeartbeatIsUnknown(t *testing.T) {
	t.Parallel()
	r := testenv.Redis(t)
	publish(t, r, r.Prefix, redisGateway("gw-a", t0, true, 2, 5))
	now := t0
	reader := capacity.New(capacity.Config{Redis: r.Client, Prefix: r.Prefix, MaxAge: 15 * time.Second, Now: func() time.Time { return now }})
	if got := reader.Read(testContext(t)); got.Status != capacity.StatusOK || len(got.Gateways) != 1 {
		t.Fatalf("fresh heartbeat: %+v", got)
	}
	// A gateway of a later release, whose format this portal does not know.
	if err := r.Client.Set(testContext(t), heartbeat.Key(r.Prefix, "gw-new-release"), `{"version":99,"gateway":"gw-new-release"}`, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Client.SAdd(testContext(t), heartbeat.IndexKey(r.Prefix), "gw-new-release").Err(); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(15*time.Second + time.Millisecond)
	got := reader.Read(testContext(t))
	want := capacity.Unknown(now, 15*time.Second)
	want.Problems = []capacity.Problem{{Source: "gateway gw-a", Reason: capacity.ProblemStale}, {Source: "redis", Reason: capacity.ProblemInvalid}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("overview (-want +got):\n%s", diff)
	}
	// Once the key's TTL ran out there is nothing to report at all.
	if err := r.Client.Del(testContext(t), heartbeat.Key(r.Prefix, "gw-a"), heartbeat.Key(r.Prefix, "gw-new-release")).Err(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(capacity.Unknown(now, 15*time.Second), reader.Read(testContext(t))); diff != "" {
		t.Fatalf("overview without keys (-want +got):\n%s", diff)
	}
}

// Redis down: unknown, never an error, within the timeout.
func TestRead_RedisDownIsUnknown(t *testing.T) {
	t.Parallel()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialerRetries: 1, MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	got := capacity.New(capacity.Config{Redis: c, Prefix: "p:", Now: func() time.Time { return t0 }}).Read(testContext(t))
	want := capacity.Unknown(t0, capacity.DefaultMaxAge)
	want.Problems = []capacity.Problem{{Source: "redis", Reason: capacity.ProblemUnreachable}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("overview (-want +got):\n%s", diff)
	}
}

// statusServer serves a gateway's GET /status the way the gateway does.
func statusServer(t *testing.T, s func() heartbeat.Snapshot) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := heartbeat.Encode(s())
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func embedded(id string, host string, healthy bool, inUse, queue int, cloud heartbeat.Cloud) heartbeat.Snapshot {
	return heartbeat.Snapshot{
		Gateway: id, At: t0, Mode: heartbeat.ModeEmbedded,
		Hosts:      []heartbeat.Host{{URL: host, Healthy: healthy, SlotsInUse: inUse, SlotsTotal: 2}},
		QueueDepth: queue, QueueByTier: map[string]int{"pro": queue}, Cloud: cloud,
	}
}

// Embedded gateways each count their own requests: the reader adds them.
// A gateway that does not answer is a problem, the others still show;
// with none answering the view is unknown. A gateway that hangs costs at
// most the timeout.
func TestRead_StatusURLs(t *testing.T) {
	t.Parallel()
	a := statusServer(t, func() heartbeat.Snapshot {
		return embedded("a", "http://gpu1:11434", true, 2, 1, heartbeat.Cloud{})
	})
	b := statusServer(t, func() heartbeat.Snapshot {
		return embedded("b", "http://gpu1:11434", true, 1, 2, heartbeat.Cloud{Configured: true})
	})
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL + "/status"
	gone.Close()
	hang := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(hang) })

	read := func(urls ...string) capacity.Overview {
		return capacity.New(capacity.Config{StatusURLs: urls, Timeout: 300 * time.Millisecond, Now: func() time.Time { return t0 }}).Read(testContext(t))
	}
	got := read(a.URL+"/status", b.URL+"/status")
	want := capacity.Overview{
		Status: capacity.StatusOK, CheckedAt: t0, MaxAge: capacity.DefaultMaxAge,
		Gateways:   []capacity.Gateway{{ID: "a", Mode: "embedded", At: t0}, {ID: "b", Mode: "embedded", At: t0}},
		Hosts:      []capacity.Host{{URL: "http://gpu1:11434", Health: capacity.HealthHealthy, Reports: 2, Healthy: 2, SlotsInUse: 3, SlotsTotal: 2}},
		QueueDepth: 3, QueueByTier: map[string]int{"pro": 3},
		Failover: capacity.FailoverOff, FailoverReason: capacity.ReasonNotConfigured,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("two gateways (-want +got):\n%s", diff)
	}

	start := time.Now()
	got = read(a.URL+"/status", goneURL, hung.URL+"/status")
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("read took %s with a hanging gateway", d)
	}
	if got.Status != capacity.StatusDegraded || len(got.Gateways) != 1 || got.Gateways[0].ID != "a" {
		t.Fatalf("one gateway down: %+v", got)
	}
	wantProblems := []capacity.Problem{{Source: goneURL, Reason: capacity.ProblemUnreachable}, {Source: hung.URL + "/status", Reason: capacity.ProblemUnreachable}}
	if diff := cmp.Diff(wantProblems, got.Problems, cmpopts.SortSlices(func(a, b capacity.Problem) bool { return a.Source < b.Source })); diff != "" {
		t.Fatalf("problems (-want +got):\n%s", diff)
	}

	got = read(goneURL)
	want = capacity.Unknown(t0, capacity.DefaultMaxAge)
	want.Problems = []capacity.Problem{{Source: goneURL, Reason: capacity.ProblemUnreachable}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("no gateway (-want +got):\n%s", diff)
	}
}

// Failover is on when any gateway would fail over; otherwise off with the
// reason.
func TestMerge_Failover(t *testing.T) {
	for _, tc := range []struct {
		name   string
		clouds []heartbeat.Cloud
		state  string
		reason string
	}{
		{"one on", []heartbeat.Cloud{{Configured: true}, {Configured: true, Healthy: true, Failover: true}}, capacity.FailoverOn, ""},
		{"unhealthy", []heartbeat.Cloud{{Configured: true}}, capacity.FailoverOff, capacity.ReasonCloudUnhealthy},
		{"budget", []heartbeat.Cloud{{Configured: true, Healthy: true, BudgetKnown: true, BudgetUsed: 500, BudgetCap: 500}}, capacity.FailoverOff, capacity.ReasonBudgetExhausted},
		{"none", []heartbeat.Cloud{{}}, capacity.FailoverOff, capacity.ReasonNotConfigured},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var snaps []heartbeat.Snapshot
			for i, c := range tc.clouds {
				snaps = append(snaps, embedded(string(rune('a'+i)), "http://h:1", true, 0, 0, c))
			}
			o := capacity.Merge(snaps, nil, t0, time.Minute)
			if o.Failover != tc.state || o.FailoverReason != tc.reason {
				t.Fatalf("failover %q %q, want %q %q", o.Failover, o.FailoverReason, tc.state, tc.reason)
			}
		})
	}
}
