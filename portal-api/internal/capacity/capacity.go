// Package capacity is the admin console's live capacity: it gathers the
// heartbeats the gateways publish (pkg/heartbeat), from Redis in Redis
// mode and from the gateways' GET /status in embedded mode, keeps those
// that are fresh by the portal's clock, and merges them into one view of
// the local Ollama hosts, the queue and cloud failover.
//
// It never fails its caller: a source that cannot be read, or a heartbeat
// too old, becomes a Problem, and with nothing fresh the view is
// StatusUnknown.
package capacity

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/heartbeat"
	"github.com/resayil/portal/pkg/heartbeat/heartbeatredis"
)

// Defaults of Config.
const (
	// DefaultMaxAge is three of the gateways' default heartbeat intervals,
	// as long as a heartbeat lives in Redis.
	DefaultMaxAge = heartbeat.TTLIntervals * heartbeat.DefaultInterval
	// DefaultTimeout bounds the whole read: the console refreshes every
	// few seconds and must not wait on a gateway that hangs.
	DefaultTimeout = time.Second
	// maxStatusBytes bounds a /status answer (a few hundred bytes a host).
	maxStatusBytes = 1 << 20
)

// Config configures a Reader.
type Config struct {
	// Redis, when set, is scanned for heartbeats under Prefix.
	Redis  redis.UniversalClient
	Prefix string
	// StatusURLs are gateways' GET /status addresses (embedded mode).
	StatusURLs []string
	// Client fetches StatusURLs; nil means a plain client.
	Client *http.Client
	// Timeout bounds one Read; MaxAge is the oldest heartbeat shown.
	Timeout time.Duration
	MaxAge  time.Duration
	// Now is the portal's clock, which judges freshness.
	Now func() time.Time
	Log *slog.Logger
}

// Status sums up the view.
type Status string

// Statuses of an Overview.
const (
	// StatusOK: fresh heartbeats, every host healthy, every source read.
	StatusOK Status = "ok"
	// StatusDegraded: fresh heartbeats, but a host is out somewhere or a
	// source could not be read.
	StatusDegraded Status = "degraded"
	// StatusUnknown: no fresh heartbeat at all.
	StatusUnknown Status = "unknown"
)

// Health of a host across the gateways that report it.
const (
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
	// HealthMixed: some gateways' probes pass and others fail (a network
	// problem between one gateway and the host).
	HealthMixed = "mixed"
)

// Failover states.
const (
	FailoverOn      = "on"
	FailoverOff     = "off"
	FailoverUnknown = "unknown"
)

// Why failover is off.
const (
	ReasonNotConfigured   = "not_configured"
	ReasonCloudUnhealthy  = "unhealthy"
	ReasonBudgetExhausted = "budget_exhausted"
)

// Problem reasons.
const (
	ProblemUnreachable = "unreachable"
	ProblemInvalid     = "invalid"
	ProblemStale       = "stale"
)

// Overview is the merged view.
type Overview struct {
	Status    Status
	CheckedAt time.Time
	MaxAge    time.Duration
	// Gateways are the gateways with a fresh heartbeat, by id.
	Gateways []Gateway
	// Hosts are the local hosts the fresh heartbeats list.
	Hosts []Host
	// QueueDepth and QueueByTier are meaningful unless Status is unknown.
	QueueDepth  int
	QueueByTier map[string]int
	// Failover is on when a paid request would go to the cloud now on
	// some gateway; FailoverReason says why it is off.
	Failover       string
	FailoverReason string
	Problems       []Problem
}

// Gateway is one gateway with a fresh heartbeat.
type Gateway struct {
	ID   string
	Mode string
	At   time.Time
}

// Host is one local Ollama host.
type Host struct {
	URL    string
	Health string
	// Reports is how many fresh gateways list it, Healthy how many of
	// those see it healthy.
	Reports, Healthy       int
	SlotsInUse, SlotsTotal int
}

// Problem is a source that gave nothing usable.
type Problem struct {
	// Source is "redis", a status URL, or "gateway <id>".
	Source string
	Reason string
}

// Reader reads and merges heartbeats; safe for concurrent use.
type Reader struct{ cfg Config }

// New returns a Reader.
func New(cfg Config) *Reader {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Reader{cfg: cfg}
}

// Unknown is the view with nothing known (no Reader configured).
func Unknown(now time.Time, maxAge time.Duration) Overview {
	return Overview{Status: StatusUnknown, CheckedAt: now, MaxAge: maxAge, QueueByTier: map[string]int{}, Failover: FailoverUnknown}
}

// Read gathers every source within Timeout and merges what is fresh. It
// never fails: what could not be read is listed in Problems.
func (r *Reader) Read(ctx context.Context) Overview {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	var (
		mu       sync.Mutex
		snaps    []heartbeat.Snapshot
		problems []Problem
		wg       sync.WaitGroup
	)
	add := func(s []heartbeat.Snapshot, p ...Problem) {
		mu.Lock()
		defer mu.Unlock()
		snaps = append(snaps, s...)
		problems = append(problems, p...)
	}
	if r.cfg.Redis != nil {
		wg.Go(func() {
			got, skipped, err := heartbeatredis.Read(ctx, r.cfg.Redis, r.cfg.Prefix)
			if err != nil {
				r.cfg.Log.Warn("capacity: heartbeats not read from Redis", "err", err)
				add(nil, Problem{Source: "redis", Reason: ProblemUnreachable})
				return
			}
			var p []Problem
			if skipped > 0 {
				p = append(p, Problem{Source: "redis", Reason: ProblemInvalid})
			}
			add(got, p...)
		})
	}
	for _, u := range r.cfg.StatusURLs {
		wg.Go(func() {
			s, reason := r.fetch(ctx, u)
			if reason != "" {
				add(nil, Problem{Source: heartbeat.PublicURL(u), Reason: reason})
				return
			}
			add([]heartbeat.Snapshot{s})
		})
	}
	wg.Wait()
	return Merge(snaps, problems, r.cfg.Now(), r.cfg.MaxAge)
}

// fetch reads one gateway's /status; reason is why it gave nothing.
func (r *Reader) fetch(ctx context.Context, u string) (heartbeat.Snapshot, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return heartbeat.Snapshot{}, ProblemInvalid
	}
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		r.cfg.Log.Debug("capacity: gateway status unreachable", "url", heartbeat.PublicURL(u), "err", err)
		return heartbeat.Snapshot{}, ProblemUnreachable
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusBytes))
	if err != nil {
		return heartbeat.Snapshot{}, ProblemUnreachable
	}
	if resp.StatusCode != http.StatusOK {
		return heartbeat.Snapshot{}, ProblemUnreachable
	}
	s, err := heartbeat.Decode(b)
	if err != nil {
		r.cfg.Log.Warn("capacity: gateway status not understood", "url", heartbeat.PublicURL(u), "err", err)
		return heartbeat.Snapshot{}, ProblemInvalid
	}
	return s, ""
}

// Merge keeps the snapshots fresh at now and merges them: one entry per
// gateway id (its newest), hosts by URL. Counts that a snapshot marks
// Shared (every replica's, from one Redis) are taken once, from the newest
// such snapshot; counts of embedded gateways, each its own, are added.
func Merge(snaps []heartbeat.Snapshot, problems []Problem, now time.Time, maxAge time.Duration) Overview {
	o := Unknown(now, maxAge)
	o.Problems = problems
	byID := map[string]heartbeat.Snapshot{}
	for _, s := range snaps {
		if old, ok := byID[s.Gateway]; !ok || s.At.After(old.At) {
			byID[s.Gateway] = s
		}
	}
	var fresh []heartbeat.Snapshot
	for _, s := range byID {
		if heartbeat.Fresh(s, now, maxAge) {
			fresh = append(fresh, s)
		} else {
			o.Problems = append(o.Problems, Problem{Source: "gateway " + s.Gateway, Reason: ProblemStale})
		}
	}
	slices.SortFunc(o.Problems, func(a, b Problem) int { return strings.Compare(a.Source+a.Reason, b.Source+b.Reason) })
	if len(fresh) == 0 {
		return o
	}
	slices.SortFunc(fresh, func(a, b heartbeat.Snapshot) int { return strings.Compare(a.Gateway, b.Gateway) })
	// The newest shared snapshot supplies the shared counts.
	var shared *heartbeat.Snapshot
	for i, s := range fresh {
		if s.Shared && (shared == nil || s.At.After(shared.At)) {
			shared = &fresh[i]
		}
	}
	hosts := map[string]*Host{}
	var order []string
	for i, s := range fresh {
		o.Gateways = append(o.Gateways, Gateway{ID: s.Gateway, Mode: s.Mode, At: s.At})
		counts := !s.Shared || &fresh[i] == shared
		for _, h := range s.Hosts {
			m := hosts[h.URL]
			if m == nil {
				m = &Host{URL: h.URL}
				hosts[h.URL] = m
				order = append(order, h.URL)
			}
			m.Reports++
			if h.Healthy {
				m.Healthy++
			}
			m.SlotsTotal = max(m.SlotsTotal, h.SlotsTotal)
			if counts {
				m.SlotsInUse += h.SlotsInUse
			}
		}
		if counts {
			o.QueueDepth += s.QueueDepth
			for tier, n := range s.QueueByTier {
				o.QueueByTier[tier] += n
			}
		}
	}
	o.Status = StatusOK
	if len(o.Problems) > 0 {
		o.Status = StatusDegraded
	}
	for _, u := range order {
		h := hosts[u]
		switch h.Healthy {
		case h.Reports:
			h.Health = HealthHealthy
		case 0:
			h.Health = HealthUnhealthy
		default:
			h.Health = HealthMixed
		}
		if h.Health != HealthHealthy {
			o.Status = StatusDegraded
		}
		o.Hosts = append(o.Hosts, *h)
	}
	o.Failover, o.FailoverReason = failover(fresh)
	return o
}

// failover is on when any fresh gateway would fail over now; otherwise
// off, with the first gateway's reason.
func failover(fresh []heartbeat.Snapshot) (string, string) {
	for _, s := range fresh {
		if s.Cloud.Failover {
			return FailoverOn, ""
		}
	}
	c := fresh[0].Cloud
	switch {
	case !c.Configured:
		return FailoverOff, ReasonNotConfigured
	case !c.Healthy:
		return FailoverOff, ReasonCloudUnhealthy
	default:
		return FailoverOff, ReasonBudgetExhausted
	}
}

// ParseURLs splits a comma-separated list of status URLs; an entry that
// is not an absolute http(s) URL is an error naming it.
func ParseURLs(list string) ([]string, error) {
	var out []string
	for _, s := range strings.Split(list, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") || heartbeat.PublicURL(s) == "invalid-url" {
			return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
		}
		out = append(out, s)
	}
	return out, nil
}
