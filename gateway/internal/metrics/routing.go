package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/resayil/portal/gateway/internal/routing"
	"github.com/resayil/portal/gateway/internal/upstream"
)

var _ routing.Observer = (*Metrics)(nil)

// Failover implements routing.Observer.
func (m *Metrics) Failover(reason routing.Reason, to upstream.Kind) {
	m.failovers.WithLabelValues(string(reason), string(to)).Inc()
}

// Routing registers the routing state read from r's snapshot at each
// scrape: per host in-flight, slots and health, queue depth by tier, the
// cloud's health, today's cloud budget, and catalog models pulled on no
// host.
func (m *Metrics) Routing(r *routing.Router) {
	m.reg.MustRegister(&routingCollector{r: r, catalog: m})
}

var (
	descInFlight = prometheus.NewDesc("resayil_gateway_upstream_in_flight",
		"Requests holding a slot on a local host (all replicas in Redis mode).", []string{"host"}, nil)
	descSlots = prometheus.NewDesc("resayil_gateway_upstream_slots",
		"Parallel slots of a local host (its OLLAMA_NUM_PARALLEL).", []string{"host"}, nil)
	descHealthy = prometheus.NewDesc("resayil_gateway_upstream_healthy",
		"1 when a backend passes its probes, 0 when it is out of service.", []string{"host"}, nil)
	descWaiting = prometheus.NewDesc("resayil_gateway_queue_waiting",
		"Requests waiting for a local slot, by tier (all replicas in Redis mode).", []string{"tier"}, nil)
	descBudgetUsed = prometheus.NewDesc("resayil_gateway_cloud_budget_used",
		"Cloud requests counted today (Asia/Kuwait day) against the budget.", nil, nil)
	descBudgetCap = prometheus.NewDesc("resayil_gateway_cloud_budget_cap",
		"Today's cap of cloud requests.", nil, nil)
	descMissing = prometheus.NewDesc("resayil_gateway_model_missing",
		"1 for each catalog model pulled on no local host.", []string{"model"}, nil)
)

type routingCollector struct {
	r       *routing.Router
	catalog *Metrics
}

func (c *routingCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInFlight, descSlots, descHealthy, descWaiting, descBudgetUsed, descBudgetCap, descMissing} {
		ch <- d
	}
}

func (c *routingCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.Snapshot()
	for _, h := range s.Hosts {
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(h.InFlight), h.Label)
		ch <- prometheus.MustNewConstMetric(descSlots, prometheus.GaugeValue, float64(h.Slots), h.Label)
		ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, boolValue(h.Healthy), h.Label)
	}
	if s.Cloud {
		ch <- prometheus.MustNewConstMetric(descHealthy, prometheus.GaugeValue, boolValue(s.CloudUp), "cloud")
		ch <- prometheus.MustNewConstMetric(descBudgetUsed, prometheus.GaugeValue, float64(s.Budget.Used))
		ch <- prometheus.MustNewConstMetric(descBudgetCap, prometheus.GaugeValue, float64(s.Budget.Cap))
	}
	for tier, n := range s.Waiting {
		ch <- prometheus.MustNewConstMetric(descWaiting, prometheus.GaugeValue, float64(n), tier)
	}
	for _, id := range s.Missing {
		ch <- prometheus.MustNewConstMetric(descMissing, prometheus.GaugeValue, 1, c.catalog.label(id))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
