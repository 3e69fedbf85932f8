// Package heartbeat publishes the gateway's routing snapshot for
// portal-api's live capacity view (the format is pkg/heartbeat): in Redis
// mode a key per gateway rewritten every interval with a TTL of a few
// intervals, and in every mode GET /status on the metrics listener. Both
// are off the request path: they read the router's snapshot and the
// hosts' health flags, which the router keeps up to date by itself.
package heartbeat

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/routing"
	"github.com/resayil/portal/pkg/heartbeat"
	"github.com/resayil/portal/pkg/heartbeat/heartbeatredis"
)

// Config configures a Publisher.
type Config struct {
	// Gateway identifies this process (RESAYIL_GATEWAY_ID).
	Gateway string
	Router  *routing.Router
	// Redis, when set, receives the heartbeat every Interval under Prefix
	// (Redis mode); nil serves /status only (embedded mode).
	Redis  redis.Cmdable
	Prefix string
	// Interval spaces the Redis writes (heartbeat.DefaultInterval); the
	// key lives heartbeat.TTLIntervals of them.
	Interval time.Duration
	// Now dates the snapshots; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// Publisher builds and publishes the gateway's heartbeat.
type Publisher struct {
	cfg Config
	// failing logs a Redis outage once, not every interval.
	failing atomic.Bool
}

// New returns a Publisher; Run publishes to Redis, Handler serves /status.
func New(cfg Config) *Publisher {
	if cfg.Interval <= 0 {
		cfg.Interval = heartbeat.DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Publisher{cfg: cfg}
}

// TTL is how long a heartbeat written to Redis lives.
func (p *Publisher) TTL() time.Duration { return heartbeat.TTLIntervals * p.cfg.Interval }

// Snapshot returns the heartbeat as of now. The local hosts' health is
// read live; the cloud's health and the slot and queue counts come from
// the router's snapshot, refreshed every second (in Redis mode the counts
// are every replica's).
func (p *Publisher) Snapshot() heartbeat.Snapshot {
	r := p.cfg.Router
	rs := r.Snapshot()
	s := heartbeat.Snapshot{
		Version: heartbeat.Version, Gateway: p.cfg.Gateway, At: p.cfg.Now().UTC(),
		Mode: heartbeat.ModeEmbedded, Shared: p.cfg.Redis != nil,
		QueueByTier: map[string]int{},
	}
	if p.cfg.Redis != nil {
		s.Mode = heartbeat.ModeRedis
	}
	hosts := r.Hosts()
	s.Hosts = make([]heartbeat.Host, len(hosts))
	for i, h := range hosts {
		s.Hosts[i] = heartbeat.Host{URL: heartbeat.PublicURL(h.ID), Healthy: h.Healthy(), SlotsTotal: h.Slots}
		// The router lists its snapshot's hosts in the order of Hosts.
		if i < len(rs.Hosts) && rs.Hosts[i].Label == h.Label {
			s.Hosts[i].SlotsInUse = rs.Hosts[i].InFlight
		}
	}
	for tier, n := range rs.Waiting {
		s.QueueByTier[tier] = n
		s.QueueDepth += n
	}
	s.Cloud = heartbeat.Cloud{Configured: rs.Cloud, Healthy: rs.CloudUp}
	if b := r.Budget(); b != nil {
		if st, ok := b.State(); ok {
			s.Cloud.BudgetKnown, s.Cloud.BudgetUsed, s.Cloud.BudgetCap = true, st.Used, st.Cap
		}
	}
	s.Cloud.Failover = heartbeat.FailoverOn(s.Cloud)
	return s
}

// Publish writes one heartbeat to Redis (a no-op without Redis).
func (p *Publisher) Publish(ctx context.Context) error {
	if p.cfg.Redis == nil {
		return nil
	}
	return heartbeatredis.Publish(ctx, p.cfg.Redis, p.cfg.Prefix, p.Snapshot(), p.TTL())
}

// Run publishes every Interval until ctx ends (Redis mode; it returns at
// once without Redis). A failed write is retried at the next tick: the key
// outlives one missed write.
func (p *Publisher) Run(ctx context.Context) {
	if p.cfg.Redis == nil {
		return
	}
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		wctx, cancel := context.WithTimeout(ctx, p.cfg.Interval)
		err := p.Publish(wctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			if !p.failing.Swap(true) {
				p.cfg.Log.Warn("gateway heartbeat not published; the admin console shows this gateway's capacity as unknown until Redis answers", "err", err)
			}
		case err == nil && p.failing.Swap(false):
			p.cfg.Log.Info("gateway heartbeat published again")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close removes the heartbeat from Redis, so a gateway shut down cleanly
// stops counting at once rather than after the TTL.
func (p *Publisher) Close(ctx context.Context) error {
	if p.cfg.Redis == nil {
		return nil
	}
	return heartbeatredis.Remove(ctx, p.cfg.Redis, p.cfg.Prefix, p.cfg.Gateway)
}

// Handler serves GET /status: the heartbeat as JSON, never cached.
func (p *Publisher) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := heartbeat.Encode(p.Snapshot())
		if err != nil {
			http.Error(w, "status unavailable", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(b)
	})
}
