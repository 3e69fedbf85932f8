package app

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"os"

	"github.com/resayil/portal/gateway/internal/heartbeat"
)

// heartbeat builds the publisher of the gateway's routing snapshot for
// the admin console's live capacity (Redis mode: a key with a TTL; every
// mode: GET /status on the metrics listener).
func (a *App) heartbeat() {
	cfg := heartbeat.Config{
		Gateway: a.gatewayID(), Router: a.Router, Prefix: a.cfg.RedisPrefix,
		Interval: a.cfg.HeartbeatInterval, Now: a.now, Log: a.log,
	}
	if a.Redis != nil {
		cfg.Redis = a.Redis
	}
	a.Heartbeat = heartbeat.New(cfg)
}

// gatewayID is RESAYIL_GATEWAY_ID, or the host name with a random suffix:
// unique per process, so two gateways on one machine do not overwrite
// each other's heartbeat.
func (a *App) gatewayID() string {
	if a.cfg.GatewayID != "" {
		return a.cfg.GatewayID
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "gateway"
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// metricsHandler serves the metrics listener: /metrics for Prometheus and
// /status for portal-api.
func (a *App) metricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", a.Metrics.Handler())
	mux.Handle("GET /status", a.Heartbeat.Handler())
	return mux
}
