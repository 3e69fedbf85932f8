// Package metrics exposes the gateway's Prometheus metrics on a separate,
// internal address. Model labels are catalog ids only: anything else is
// counted as "other", so neither client input nor a restricted name can
// become a label (invariant 4, and bounded cardinality).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/resayil/portal/gateway/internal/server"
	"github.com/resayil/portal/pkg/catalog"
)

// Metrics implements server.Observer.
type Metrics struct {
	reg       *prometheus.Registry
	catalog   *catalog.Live
	requests  *prometheus.CounterVec
	refused   *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	ttfb      *prometheus.HistogramVec
	tokens    *prometheus.CounterVec
	credits   *prometheus.CounterVec
	shortfall *prometheus.CounterVec
	failovers *prometheus.CounterVec
	anomalies *prometheus.CounterVec
	InFlight  prometheus.Gauge
}

var (
	_ server.Observer        = (*Metrics)(nil)
	_ server.AnomalyObserver = (*Metrics)(nil)
)

// New registers the gateway's metrics on a fresh registry.
func New(c *catalog.Live) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m := &Metrics{
		reg: reg, catalog: c,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resayil_gateway_requests_total",
			Help: "Chat requests by model, backend and HTTP status."}, []string{"model", "backend", "status"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resayil_gateway_refused_total",
			Help: "Requests refused before reaching a backend, by reason (rate_limit_exceeded, insufficient_quota, model_not_allowed, ...)."}, []string{"model", "reason"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "resayil_gateway_request_duration_seconds",
			Help: "Time from request to the end of the answer.", Buckets: buckets}, []string{"model", "backend"}),
		ttfb: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "resayil_gateway_time_to_first_byte_seconds",
			Help: "Time from request to the first byte of the answer.", Buckets: buckets}, []string{"model", "backend"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resayil_gateway_tokens_total",
			Help: "Tokens billed, by kind (prompt, completion)."}, []string{"model", "backend", "kind"}),
		credits: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resayil_gateway_credits_total",
			Help: "Credits debited."}, []string{"model", "backend"}),
		shortfall: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resayil_gateway_credit_shortfall_total",
			Help: "Credits a request cost beyond its hold and the balance (never charged)."}, []string{"model"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resayil_gateway_failovers_total",
			Help: "Requests that left their first backend, by reason (load, queue_timeout, queue_full, no_host, unreachable, timeout, error) and the kind of backend they went to."}, []string{"reason", "to"}),
		anomalies: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "resayil_gateway_upstream_anomalies_total",
			Help: "Upstream answers not billed from the upstream's own usage, by kind: wrong_shape (a stream to a non-streaming request or the reverse; answered 502, billed at the hold), no_usage (billed from the gateway's own count)."}, []string{"model", "backend", "kind"}),
		InFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "resayil_gateway_in_flight_requests",
			Help: "Chat requests being served."}),
	}
	reg.MustRegister(m.requests, m.refused, m.latency, m.ttfb, m.tokens, m.credits, m.shortfall, m.failovers, m.anomalies, m.InFlight)
	return m
}

// Registry lets other parts of the gateway register their own metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// label returns a catalog model id or "other".
func (m *Metrics) label(model string) string {
	if _, ok := m.catalog.Get().Lookup(model); ok {
		return model
	}
	return "other"
}

// Observe records one finished request.
func (m *Metrics) Observe(r server.Report) {
	model := m.label(r.Model)
	backend := string(r.Backend)
	if backend == "" {
		backend = "none"
	}
	m.requests.WithLabelValues(model, backend, strconv.Itoa(r.Status)).Inc()
	if r.Refusal != "" {
		m.refused.WithLabelValues(model, r.Refusal).Inc()
		return
	}
	m.latency.WithLabelValues(model, backend).Observe(r.Duration.Seconds())
	if r.TTFB > 0 {
		m.ttfb.WithLabelValues(model, backend).Observe(r.TTFB.Seconds())
	}
	m.tokens.WithLabelValues(model, backend, "prompt").Add(float64(r.Prompt))
	m.tokens.WithLabelValues(model, backend, "completion").Add(float64(r.Completed))
	m.credits.WithLabelValues(model, backend).Add(float64(r.Credits))
	if r.Shortfall > 0 {
		m.shortfall.WithLabelValues(model).Add(float64(r.Shortfall))
	}
}

// Anomaly counts an upstream answer billed without the upstream's usage.
func (m *Metrics) Anomaly(a server.Anomaly) {
	m.anomalies.WithLabelValues(m.label(a.Model), string(a.Backend), a.Kind).Inc()
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Timeout: 5 * time.Second}))
	return mux
}
