package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/heartbeat"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

// capacityBody is GET /api/v1/admin/capacity's answer.
type capacityBody struct {
	Status        string    `json:"status"`
	CheckedAt     time.Time `json:"checked_at"`
	MaxAgeSeconds int64     `json:"max_age_seconds"`
	Gateways      []struct {
		ID     string    `json:"id"`
		Mode   string    `json:"mode"`
		SeenAt time.Time `json:"seen_at"`
	} `json:"gateways"`
	Hosts []struct {
		URL            string `json:"url"`
		Health         string `json:"health"`
		SlotsInUse     int    `json:"slots_in_use"`
		SlotsTotal     int    `json:"slots_total"`
		Reports        int    `json:"reports"`
		HealthyReports int    `json:"healthy_reports"`
	} `json:"hosts"`
	QueueDepth    *int           `json:"queue_depth"`
	QueueByTier   map[string]int `json:"queue_by_tier"`
	CloudFailover string         `json:"cloud_failover"`
	FailoverWhy   *string        `json:"cloud_failover_reason"`
	Problems      []struct {
		Source string `json:"source"`
		Reason string `json:"reason"`
	} `json:"problems"`
}

// gatewayStatus serves an embedded gateway's GET /status (the contract of
// pkg/heartbeat) dated by the portal's test clock less lag; down makes it
// hang up without answering, like a gateway that is down.
type gatewayStatus struct {
	srv  *httptest.Server
	down atomic.Bool
	// lag dates the snapshot this long before the portal's clock.
	lag atomic.Int64
}

func newGatewayStatus(t *testing.T, clock *apitest.Clock, s heartbeat.Snapshot) *gatewayStatus {
	t.Helper()
	g := &gatewayStatus{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.down.Load() {
			// A closed listener cannot be reopened on its port; hanging
			// up without an answer is what the portal sees of a dead one.
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			conn.Close()
			return
		}
		s.At = clock.Now().Add(-time.Duration(g.lag.Load()))
		b, _ := heartbeat.Encode(s)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gatewayStatus) url() string { return g.srv.URL + "/status" }

func TestAdminCapacity(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			clock := apitest.NewClock()
			gpu := "http://gpu1:11434"
			a := newGatewayStatus(t, clock, heartbeat.Snapshot{Gateway: "a", Mode: "embedded",
				Hosts:      []heartbeat.Host{{URL: gpu, Healthy: true, SlotsInUse: 1, SlotsTotal: 2}},
				QueueDepth: 2, QueueByTier: map[string]int{"basic": 2},
				Cloud: heartbeat.Cloud{Configured: true, Healthy: true, Failover: true}})
			bg := newGatewayStatus(t, clock, heartbeat.Snapshot{Gateway: "b", Mode: "embedded",
				Hosts:       []heartbeat.Host{{URL: gpu, Healthy: false, SlotsTotal: 2}},
				QueueByTier: map[string]int{}})
			h := harness(t, b, apitest.Options{Clock: clock, Env: []string{
				"RESAYIL_GATEWAY_STATUS_URLS=" + a.url() + "," + bg.url(), "RESAYIL_GATEWAY_STATUS_TIMEOUT=2s",
			}})
			hash, err := account.Hasher{Cost: 4}.Hash(apitest.DefaultPassword)
			if err != nil {
				t.Fatal(err)
			}
			email := apitest.UniqueEmail("admin")
			if _, err := h.App.Store.Seed(context.Background(), seedAdmin(email, hash)); err != nil {
				t.Fatal(err)
			}
			admin := h.NewClient()
			admin.Login(t, email, apitest.DefaultPassword, false)
			read := func() capacityBody {
				t.Helper()
				var out capacityBody
				admin.Do(t, get("/api/v1/admin/capacity")).Want(t, http.StatusOK).JSON(t, &out)
				return out
			}

			t.Run("401and403", func(t *testing.T) {
				if e := h.Do(t, get("/api/v1/admin/capacity")).Want(t, http.StatusUnauthorized).Error(t); e.Code != "unauthorized" {
					t.Errorf("%+v", e)
				}
				c, _ := h.SignUp(t, "notadmin")
				if e := c.Do(t, get("/api/v1/admin/capacity")).Want(t, http.StatusForbidden).Error(t); e.Code != "forbidden" {
					t.Errorf("%+v", e)
				}
			})

			t.Run("twoGatewaysMerged", func(t *testing.T) {
				got := read()
				if got.Status != "degraded" || len(got.Gateways) != 2 || got.Gateways[0].ID != "a" || got.Gateways[1].ID != "b" ||
					!got.Gateways[0].SeenAt.Equal(clock.Now()) || got.MaxAgeSeconds != 15 || len(got.Problems) != 0 {
					t.Fatalf("%+v", got)
				}
				if len(got.Hosts) != 1 {
					t.Fatalf("hosts %+v", got.Hosts)
				}
				host := got.Hosts[0]
				if host.URL != gpu || host.Health != "mixed" || host.SlotsInUse != 1 || host.SlotsTotal != 2 || host.Reports != 2 || host.HealthyReports != 1 {
					t.Fatalf("host %+v", host)
				}
				if got.QueueDepth == nil || *got.QueueDepth != 2 || got.QueueByTier["basic"] != 2 || got.CloudFailover != "on" || got.FailoverWhy != nil {
					t.Fatalf("queue %v %v, failover %q", got.QueueDepth, got.QueueByTier, got.CloudFailover)
				}
			})

			t.Run("oneGatewayDown", func(t *testing.T) {
				a.down.Store(true)
				defer a.down.Store(false)
				got := read()
				if got.Status != "degraded" || len(got.Gateways) != 1 || got.Gateways[0].ID != "b" || got.Hosts[0].Health != "unhealthy" {
					t.Fatalf("%+v", got)
				}
				if got.CloudFailover != "off" || got.FailoverWhy == nil || *got.FailoverWhy != "not_configured" {
					t.Fatalf("failover %q %v", got.CloudFailover, got.FailoverWhy)
				}
				want := []string{a.url() + " unreachable"}
				var problems []string
				for _, p := range got.Problems {
					problems = append(problems, p.Source+" "+p.Reason)
				}
				if diff := cmp.Diff(want, problems); diff != "" {
					t.Fatalf("problems (-want +got):\n%s", diff)
				}
			})

			t.Run("everyGatewayDownIsUnknown", func(t *testing.T) {
				a.down.Store(true)
				bg.down.Store(true)
				defer a.down.Store(false)
				defer bg.down.Store(false)
				got := read()
				if got.Status != "unknown" || len(got.Gateways) != 0 || len(got.Hosts) != 0 || got.QueueDepth != nil ||
					len(got.QueueByTier) != 0 || got.CloudFailover != "unknown" || got.FailoverWhy != nil || len(got.Problems) != 2 {
					t.Fatalf("%+v", got)
				}
			})

			// The portal's clock judges freshness: heartbeats dated 16 s
			// before it are stale.
			t.Run("staleIsUnknown", func(t *testing.T) {
				a.lag.Store(int64(15*time.Second + time.Millisecond))
				bg.lag.Store(int64(16 * time.Second))
				defer a.lag.Store(0)
				defer bg.lag.Store(0)
				got := read()
				var problems []string
				for _, p := range got.Problems {
					problems = append(problems, p.Source+" "+p.Reason)
				}
				if got.Status != "unknown" || len(got.Hosts) != 0 || got.QueueDepth != nil ||
					!cmp.Equal(problems, []string{"gateway a stale", "gateway b stale"}) {
					t.Fatalf("%+v", got)
				}
				// At exactly the maximum age a heartbeat still counts.
				a.lag.Store(int64(15 * time.Second))
				if got := read(); got.Status != "degraded" || len(got.Gateways) != 1 {
					t.Fatalf("%+v", got)
				}
			})
		})
	}
}
