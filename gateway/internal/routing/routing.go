// Package routing picks the backend that serves an admitted request and
// holds its capacity while it runs: a slot on the least-loaded healthy
// local Ollama host that has the model, after a wait in the tier-ordered
// queue if need be (package capacity); or the cloud, for cloud-only models
// and, for plans that include the cloud, when more than the threshold of
// requests wait for local slots, when the wait times out, or when the local
// hosts fail before their first byte, as long as today's cloud budget has
// room (package budget).
//
// Serve tries backends in that order and stops at the first one whose first
// event arrived: until then nothing has been sent to the client, so trying
// another backend is invisible to it (ADR 4, failover before the first byte).
// Once the caller has sent a byte it never comes back here: an upstream
// failure then ends the stream with an error event.
package routing

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/resayil/portal/gateway/internal/budget"
	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/resayil"
)

// Defaults of Config, documented in .env.example.
const (
	DefaultThreshold      = 3
	DefaultQueueTimeout   = 30 * time.Second
	DefaultQueueMax       = 256
	DefaultHealthInterval = 5 * time.Second
	// DefaultFailAfter consecutive failed probes take a host out; one
	// good probe brings it back.
	DefaultFailAfter     = 3
	DefaultStatsInterval = time.Second
)

// Observer is told about routing decisions (metrics).
type Observer interface {
	// Failover: a request left its first choice for reason, to a backend
	// of kind to.
	Failover(reason Reason, to upstream.Kind)
}

// Config configures a Router.
type Config struct {
	// Hosts are the local Ollama hosts (at least one).
	Hosts []*Host
	// Cloud is the cloud backend, nil when no cloud key is configured.
	Cloud *upstream.Backend
	// Budget is the daily cloud budget; required with Cloud.
	Budget *budget.Budget
	// Capacity is the slot and queue store (capacitymem or capacityredis).
	Capacity capacity.Store
	// Catalog names the models the probes should find on some host.
	Catalog *catalog.Live
	// Threshold: with more than this many requests waiting, a request
	// whose plan includes the cloud goes there instead of waiting.
	Threshold int
	// QueueTimeout bounds a request's wait for a local slot.
	QueueTimeout time.Duration
	// QueueMax bounds the queue; beyond it a request is refused at once.
	QueueMax int
	// Aging is the wait worth one priority level (capacity.DefaultAging).
	Aging time.Duration
	// PollInterval is how often a waiter checks the store (capacity).
	PollInterval time.Duration
	// HealthInterval spaces the probes; ProbeTimeout bounds each.
	HealthInterval time.Duration
	ProbeTimeout   time.Duration
	FailAfter      int
	// StatsInterval spaces the capacity snapshots behind Snapshot.
	StatsInterval time.Duration
	// TierName names a queue priority for metrics ("basic" for 0 ...).
	TierName func(priority int) string
	Observer Observer
	Log      *slog.Logger
}

// Router is safe for concurrent use.
type Router struct {
	cfg   Config
	hosts []*Host
	byID  map[string]*Host
	view  atomic.Pointer[[]capacity.Host]
	pool  *capacity.Pool

	cloudUp    atomic.Bool
	cloudFails atomic.Int32
	snap       atomic.Pointer[Snapshot]
	// statsFailing logs a store outage once, not every StatsInterval.
	statsFailing atomic.Bool
	missing      atomic.Pointer[[]string]
}

// New returns a Router; call Run for probes, lease renewals, wake-ups,
// budget alerts and snapshots.
func New(cfg Config) (*Router, error) {
	if len(cfg.Hosts) == 0 {
		return nil, errors.New("routing: at least one local host is required")
	}
	if cfg.Cloud != nil && cfg.Budget == nil {
		return nil, errors.New("routing: a cloud backend needs a budget")
	}
	if cfg.Capacity == nil {
		return nil, errors.New("routing: a capacity store is required")
	}
	if cfg.QueueTimeout <= 0 {
		cfg.QueueTimeout = DefaultQueueTimeout
	}
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = DefaultHealthInterval
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = min(cfg.HealthInterval, 3*time.Second)
	}
	if cfg.FailAfter <= 0 {
		cfg.FailAfter = DefaultFailAfter
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = DefaultStatsInterval
	}
	if cfg.TierName == nil {
		cfg.TierName = strconv.Itoa
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	r := &Router{cfg: cfg, hosts: cfg.Hosts, byID: make(map[string]*Host, len(cfg.Hosts))}
	for _, h := range cfg.Hosts {
		if _, dup := r.byID[h.ID]; dup {
			return nil, errors.New("routing: host " + h.Label + " is listed twice")
		}
		r.byID[h.ID] = h
	}
	r.cloudUp.Store(true)
	r.publishView()
	r.pool = capacity.NewPool(capacity.PoolConfig{
		Store: cfg.Capacity, Hosts: r.capacityView, Aging: cfg.Aging, QueueMax: cfg.QueueMax,
		PollInterval: cfg.PollInterval, Log: cfg.Log,
	})
	return r, nil
}

// Pool is the router's slot pool.
func (r *Router) Pool() *capacity.Pool { return r.pool }

// Budget is the cloud budget, nil without a cloud backend.
func (r *Router) Budget() *budget.Budget { return r.cfg.Budget }

// Hosts are the local hosts.
func (r *Router) Hosts() []*Host { return r.hosts }

// Abort ends the non-streaming upstream calls in flight on every backend
// (see upstream.Backend.Abort): the shutdown's last step, after its grace.
func (r *Router) Abort() {
	for _, h := range r.hosts {
		h.Backend.Abort()
	}
	if r.cfg.Cloud != nil {
		r.cfg.Cloud.Abort()
	}
}

func (r *Router) capacityView() []capacity.Host { return *r.view.Load() }

// publishView snapshots the hosts' slots for the capacity store (0 slots
// for a host that is out).
func (r *Router) publishView() {
	v := make([]capacity.Host, len(r.hosts))
	for i, h := range r.hosts {
		v[i] = h.capacity()
	}
	r.view.Store(&v)
}

// Request is an admitted request to route.
type Request struct {
	// ID is the billing id (unique).
	ID    string
	Model *catalog.Model
	Plan  resayil.Plan
	// Early is a slot entry made ahead of Serve (see Router.Early); Serve
	// takes its slot for the first local attempt, or cancels it.
	Early *capacity.Early
}

// Early prepares a local-slot entry for req that the caller sends in a
// round trip it makes anyway (Redis mode: with the rate limit and the
// credit hold), so that a request with a free slot waiting for it costs
// no round trip of its own. It is nil when req would not start on a local
// host (a cloud-only model, no eligible host up). It never queues: when
// no slot is free, Serve enters the queue as usual.
func (r *Router) Early(req Request) *capacity.Early {
	if req.Model.Local == "" {
		return nil
	}
	ids := r.eligible(req.Model.Local, nil)
	if len(ids) == 0 {
		return nil
	}
	return r.pool.Early(capacity.Request{ID: req.ID, Priority: req.Plan.QueuePriority, Hosts: ids})
}

// Route is where a request went and the model name that backend knows.
type Route struct {
	Backend *upstream.Backend
	Model   string
}

// Lease is a routed request: its route, and the local slot it holds until
// Release.
type Lease struct {
	Route
	// Failover is why the request left its first choice ("" if it did not).
	Failover Reason
	// Waited is the time spent queued for a local slot.
	Waited time.Duration
	slot   *capacity.Slot
}

// Release frees the request's local slot, if it holds one; call it once
// the request has ended (streams: when the relay returns).
func (l *Lease) Release() {
	if l.slot != nil {
		l.slot.Release()
	}
}

// ReleaseWith is Release through leave (see capacity.Slot.ReleaseWith);
// leave is called only when the lease still holds a local slot.
func (l *Lease) ReleaseWith(leave func(hosts []capacity.Host, id string) (capacity.Outcome, error)) {
	if l.slot != nil {
		l.slot.ReleaseWith(leave)
	}
}

// Call sends the request to b under model (the name b knows) and returns
// nil once b's first event has arrived, or the failure (an
// *upstream.Error when the backend failed). Serve calls it once per
// backend it tries.
type Call func(b *upstream.Backend, model string) error

// Serve routes req and calls the chosen backends in turn until one
// answers. ctx bounds the wait for a local slot (the gateway cancels it
// when it shuts down); call bounds its own upstream work.
//
// It fails with ErrCloudExhausted, ErrServerBusy, ErrNoBackend, the last
// upstream failure when every backend failed or the failure was not worth
// another try, or a store error.
func (r *Router) Serve(ctx context.Context, req Request, call Call) (*Lease, error) {
	// A slot the first attempt did not take goes back (no-op once taken).
	defer req.Early.Cancel()
	m := req.Model
	cloudOK := r.cfg.Cloud != nil && req.Plan.CloudAllowed && m.HasCloud()
	if m.Local == "" {
		if !cloudOK {
			return nil, ErrNoBackend
		}
		lease, err := r.viaCloud(ctx, req, call, "")
		if errors.Is(err, errCloudUnavailable) {
			return nil, ErrNoBackend
		}
		return lease, err
	}
	// Failover to the cloud stops when the budget is used up or the cloud
	// is out; the request then waits for local slots like any other.
	cloudClosed := !cloudOK || !r.cloudUp.Load()
	deadline := time.Now().Add(r.cfg.QueueTimeout)
	var tried []string
	var lastErr error
	var reason Reason
	for attempt := 0; ; attempt++ {
		ids := r.eligible(m.Local, tried)
		if len(ids) == 0 {
			if reason == "" {
				reason = ReasonNoHost
			}
		} else {
			room := !cloudClosed && r.cfg.Budget.Room()
			pr := capacity.Request{ID: req.ID, Priority: req.Plan.QueuePriority, Hosts: ids, Wait: time.Until(deadline)}
			if attempt > 0 {
				pr.ID += "." + strconv.Itoa(attempt)
			}
			switch {
			case room && lastErr == nil:
				pr.Mode, pr.MaxWaiting = capacity.QueueUpTo, r.cfg.Threshold
			case room:
				// After a failure: another host only if free right now, else
				// the cloud.
				pr.Mode = capacity.NoWait
			default:
				pr.Mode = capacity.Queue
			}
			early := req.Early
			if attempt > 0 {
				early = nil
			}
			slot, err := r.pool.AcquireEarly(ctx, pr, early)
			switch {
			case err == nil:
				if lastErr != nil && r.cfg.Observer != nil {
					r.cfg.Observer.Failover(reason, upstream.Local)
				}
				h := r.byID[slot.Host]
				cerr := call(h.Backend, m.Local)
				if cerr == nil {
					l := &Lease{Route: Route{Backend: h.Backend, Model: m.Local}, Waited: slot.Waited, slot: slot}
					if lastErr != nil {
						l.Failover = reason
					}
					return l, nil
				}
				slot.Release()
				why, retry := failure(cerr)
				if !retry {
					return nil, cerr
				}
				lastErr, reason = cerr, why
				tried = append(tried, h.ID)
				r.cfg.Log.Warn("local host failed before the first byte; trying the next backend", "host", h.Label, "reason", why, "err", cerr)
				continue
			case capacity.IsBusy(err):
				if lastErr == nil {
					reason = ReasonLoad
				}
			case errors.Is(err, capacity.ErrTimeout):
				reason = ReasonQueueTimeout
			case errors.Is(err, capacity.ErrQueueFull):
				reason = ReasonQueueFull
			case errors.Is(err, capacity.ErrNoHost):
				if lastErr == nil {
					reason = ReasonNoHost
				}
			case ctx.Err() != nil:
				return nil, ErrServerBusy
			default:
				return nil, err
			}
		}
		if cloudClosed {
			return nil, localFailure(reason, lastErr)
		}
		lease, err := r.viaCloud(ctx, req, call, reason)
		switch {
		case err == nil:
			return lease, nil
		case errors.Is(err, ErrCloudExhausted) || errors.Is(err, errCloudUnavailable):
			cloudClosed = true
			if reason == ReasonLoad {
				// Failover stops: wait for a local slot after all.
				continue
			}
			return nil, localFailure(reason, lastErr)
		}
		return nil, err
	}
}

// errCloudUnavailable: the budget store failed, so the cloud cannot be
// accounted for and is not used.
var errCloudUnavailable = errors.New("routing: the cloud budget is unavailable")

func localFailure(reason Reason, lastErr error) error {
	if lastErr != nil {
		return lastErr
	}
	if reason == ReasonNoHost {
		return ErrNoBackend
	}
	return ErrServerBusy
}

// viaCloud takes one request of today's budget and calls the cloud.
func (r *Router) viaCloud(ctx context.Context, req Request, call Call, reason Reason) (*Lease, error) {
	b := r.cfg.Budget
	day := b.Today()
	_, ok, err := b.Take(ctx)
	if err != nil {
		r.cfg.Log.Error("cloud budget unavailable; not using the cloud", "err", err)
		return nil, errCloudUnavailable
	}
	if !ok {
		return nil, ErrCloudExhausted
	}
	if reason != "" && r.cfg.Observer != nil {
		r.cfg.Observer.Failover(reason, upstream.Cloud)
	}
	if err := call(r.cfg.Cloud, req.Model.Cloud); err != nil {
		if notSent(err) {
			// It never reached the cloud: it does not count.
			rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			b.Refund(rctx, day)
			cancel()
		}
		return nil, err
	}
	return &Lease{Route: Route{Backend: r.cfg.Cloud, Model: req.Model.Cloud}, Failover: reason}, nil
}

// eligible returns the ids of the healthy hosts that have model, less
// those already tried.
func (r *Router) eligible(model string, tried []string) []string {
	var ids []string
	for _, h := range r.hosts {
		if !h.Healthy() || !h.Has(model) || slices.Contains(tried, h.ID) {
			continue
		}
		if ids == nil {
			ids = make([]string, 0, len(r.hosts))
		}
		ids = append(ids, h.ID)
	}
	return ids
}
