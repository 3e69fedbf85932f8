package app

import (
	"strconv"

	"github.com/resayil/portal/gateway/internal/budget"
	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/capacity/capacitymem"
	"github.com/resayil/portal/gateway/internal/capacity/capacityredis"
	"github.com/resayil/portal/gateway/internal/routing"
	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetredis"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetsql"
)

// routing builds the router: the local hosts of OLLAMA_URLS, the cloud
// when a key is configured, and the slot/queue and budget stores of the
// mode (Redis: shared by every replica; embedded: in process and the
// database row).
func (a *App) routing() (*routing.Router, error) {
	cfg := a.cfg
	timeouts := upstream.Timeouts{Connect: cfg.ConnectTimeout, FirstByte: cfg.FirstByteTimeout, Idle: cfg.IdleTimeout}
	specs, err := cfg.LocalHosts()
	if err != nil {
		return nil, err
	}
	hosts := make([]*routing.Host, 0, len(specs))
	for _, h := range specs {
		hosts = append(hosts, routing.NewHost(upstream.New(upstream.Local, h.URL, "", timeouts), h.Slots))
	}
	var slots capacity.Store = capacitymem.New(capacitymem.Config{})
	if a.Redis != nil {
		rs, err := capacityredis.New(a.Redis, capacityredis.Config{Prefix: cfg.RedisPrefix})
		if err != nil {
			return nil, err
		}
		slots, a.redisSlots = rs, rs
	}
	rc := routing.Config{
		Hosts: hosts, Capacity: slots, Catalog: a.Catalog,
		Threshold: cfg.LocalQueueThreshold, QueueTimeout: cfg.QueueTimeout, QueueMax: cfg.LocalQueueMax, Aging: cfg.QueueAging,
		HealthInterval: cfg.HealthInterval, TierName: a.tierName, Observer: a.Metrics, Log: a.log,
	}
	if cfg.CloudEnabled() {
		rc.Cloud = upstream.New(upstream.Cloud, cfg.CloudURL, cfg.CloudAPIKey.Reveal(), timeouts)
		var store cloudbudget.Store
		if a.Redis != nil {
			store, err = cloudbudgetredis.New(a.Redis, cloudbudgetredis.Config{Prefix: cfg.RedisPrefix, DefaultCap: cfg.CloudDailyBudget})
		} else {
			store, err = cloudbudgetsql.New(a.DB, cloudbudgetsql.Config{DefaultCap: cfg.CloudDailyBudget})
		}
		if err != nil {
			return nil, err
		}
		// Alerts go to the outbox from the budget's background loop, never
		// from the request path.
		rc.Budget = budget.New(budget.Config{Store: store, Outbox: cloudbudgetsql.NewOutbox(a.DB, cloudbudgetsql.OutboxConfig{}),
			Mirror: a.Redis != nil, Now: a.now, Log: a.log})
	}
	return routing.New(rc)
}

// tierName names a queue priority after the plan that has it.
func (a *App) tierName(priority int) string {
	for _, p := range a.Plans.All() {
		if p.QueuePriority == priority {
			return string(p.Code)
		}
	}
	return "priority_" + strconv.Itoa(priority)
}
