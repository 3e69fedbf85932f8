package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/portal-api/internal/capacity"
)

// capacityDTO is GET /api/v1/admin/capacity's answer.
type capacityDTO struct {
	Status        string            `json:"status"`
	CheckedAt     time.Time         `json:"checked_at"`
	MaxAgeSeconds int64             `json:"max_age_seconds"`
	Gateways      []capacityGateway `json:"gateways"`
	Hosts         []capacityHost    `json:"hosts"`
	QueueDepth    *int              `json:"queue_depth"`
	QueueByTier   map[string]int    `json:"queue_by_tier"`
	CloudFailover string            `json:"cloud_failover"`
	FailoverWhy   *string           `json:"cloud_failover_reason"`
	Problems      []capacityProblem `json:"problems"`
}

type capacityGateway struct {
	ID     string    `json:"id"`
	Mode   string    `json:"mode"`
	SeenAt time.Time `json:"seen_at"`
}

type capacityHost struct {
	URL            string `json:"url"`
	Health         string `json:"health"`
	SlotsInUse     int    `json:"slots_in_use"`
	SlotsTotal     int    `json:"slots_total"`
	Reports        int    `json:"reports"`
	HealthyReports int    `json:"healthy_reports"`
}

type capacityProblem struct {
	Source string `json:"source"`
	Reason string `json:"reason"`
}

func toCapacityDTO(o capacity.Overview) capacityDTO {
	out := capacityDTO{
		Status: string(o.Status), CheckedAt: o.CheckedAt.UTC(), MaxAgeSeconds: int64(o.MaxAge / time.Second),
		Gateways: make([]capacityGateway, len(o.Gateways)), Hosts: make([]capacityHost, len(o.Hosts)),
		QueueByTier: o.QueueByTier, CloudFailover: o.Failover, Problems: make([]capacityProblem, len(o.Problems)),
	}
	if out.QueueByTier == nil {
		out.QueueByTier = map[string]int{}
	}
	for i, g := range o.Gateways {
		out.Gateways[i] = capacityGateway{ID: g.ID, Mode: g.Mode, SeenAt: g.At.UTC()}
	}
	for i, h := range o.Hosts {
		out.Hosts[i] = capacityHost{URL: h.URL, Health: h.Health, SlotsInUse: h.SlotsInUse, SlotsTotal: h.SlotsTotal,
			Reports: h.Reports, HealthyReports: h.Healthy}
	}
	for i, p := range o.Problems {
		out.Problems[i] = capacityProblem{Source: p.Source, Reason: p.Reason}
	}
	// Unknown has no queue to show, rather than a queue of zero.
	if o.Status != capacity.StatusUnknown {
		out.QueueDepth = &o.QueueDepth
	}
	if o.FailoverReason != "" {
		out.FailoverWhy = &o.FailoverReason
	}
	return out
}

// getCapacity answers 200 whatever the gateways do: what cannot be read is
// "unknown", never an error (the overview must not fail with a gateway).
func (h *handlers) getCapacity(c *fiber.Ctx) error {
	if h.capacity == nil {
		return c.JSON(toCapacityDTO(capacity.Unknown(time.Now(), capacity.DefaultMaxAge)))
	}
	return c.JSON(toCapacityDTO(h.capacity.Read(c.UserContext())))
}
