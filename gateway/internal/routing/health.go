package routing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/cloudbudget"
)

// Run probes the backends, renews slot leases, receives wake-ups from
// other replicas, refreshes the cloud budget (alerts included) and keeps
// the snapshot behind Snapshot, until ctx ends.
func (r *Router) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { r.pool.Run(ctx) })
	if r.cfg.Budget != nil {
		wg.Go(func() { r.cfg.Budget.Run(ctx) })
	}
	wg.Go(func() {
		for {
			r.Probe(ctx)
			select {
			case <-ctx.Done():
				return
			case <-time.After(r.cfg.HealthInterval):
			}
		}
	})
	wg.Go(func() {
		t := time.NewTicker(r.cfg.StatsInterval)
		defer t.Stop()
		for {
			r.refreshSnapshot(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	wg.Wait()
}

// Probe runs one round of health probes: Ollama's /api/version and
// /api/tags on every local host, /v1/models on the cloud. FailAfter
// consecutive failures take a backend out; one good probe brings it back.
func (r *Router) Probe(ctx context.Context) {
	var wg sync.WaitGroup
	for _, h := range r.hosts {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, r.cfg.ProbeTimeout)
			defer cancel()
			version, models, err := h.Backend.ProbeOllama(pctx)
			if ctx.Err() != nil {
				return
			}
			r.hostProbed(h, version, models, err)
		})
	}
	if r.cfg.Cloud != nil {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, r.cfg.ProbeTimeout)
			defer cancel()
			err := r.cfg.Cloud.ProbeOpenAI(pctx)
			if ctx.Err() != nil {
				return
			}
			r.cloudProbed(err)
		})
	}
	wg.Wait()
	r.publishView()
	r.checkModels()
}

func (r *Router) hostProbed(h *Host, version string, models []string, err error) {
	if err != nil {
		n := int(h.fails.Add(1))
		if n >= r.cfg.FailAfter && h.healthy.Swap(false) {
			r.cfg.Log.Error("local host out of service after failed probes", "host", h.Label, "failures", n, "err", err)
		} else if n < r.cfg.FailAfter {
			r.cfg.Log.Warn("local host probe failed", "host", h.Label, "failures", n, "err", err)
		}
		return
	}
	h.fails.Store(0)
	if !h.healthy.Swap(true) {
		r.cfg.Log.Info("local host back in service", "host", h.Label)
	}
	set := make(map[string]bool, len(models))
	for _, m := range models {
		set[m] = true
	}
	h.models.Store(&set)
	h.version.Store(&version)
}

func (r *Router) cloudProbed(err error) {
	if err != nil {
		if n := int(r.cloudFails.Add(1)); n >= r.cfg.FailAfter && r.cloudUp.Swap(false) {
			r.cfg.Log.Error("cloud out of service after failed probes: failover to the cloud stops", "failures", n, "err", err)
		}
		return
	}
	r.cloudFails.Store(0)
	if !r.cloudUp.Swap(true) {
		r.cfg.Log.Info("cloud back in service")
	}
}

// checkModels finds the catalog's local models that no probed host has
// pulled, and logs the list when it changes.
func (r *Router) checkModels() {
	if r.cfg.Catalog == nil {
		return
	}
	known := false
	have := map[string]bool{}
	for _, h := range r.hosts {
		if m, ok := h.Models(); ok {
			known = true
			for name := range m {
				have[name] = true
			}
		}
	}
	var missing []string
	if known {
		for _, m := range r.cfg.Catalog.Get().Models() {
			if m.Local != "" && !have[upstream.ModelName(m.Local)] {
				missing = append(missing, m.ID)
			}
		}
	}
	old := r.missing.Swap(&missing)
	if old == nil || !slices.Equal(*old, missing) {
		if len(missing) > 0 {
			r.cfg.Log.Warn("catalog models not pulled on any local host (pull them, or requests for them go to the cloud or fail)", "models", missing)
		} else if old != nil && len(*old) > 0 {
			r.cfg.Log.Info("every catalog model is pulled on some local host")
		}
	}
}

// Missing returns the catalog model ids no probed host has pulled.
func (r *Router) Missing() []string {
	if m := r.missing.Load(); m != nil {
		return *m
	}
	return nil
}

// HostStatus is one local host in a Snapshot.
type HostStatus struct {
	Label    string
	Slots    int
	InFlight int
	Healthy  bool
}

// Snapshot is the routing state for metrics and readiness: in Redis mode,
// the counts of every replica.
type Snapshot struct {
	Hosts []HostStatus
	// Waiting counts queued requests by tier name.
	Waiting map[string]int
	// Cloud is whether a cloud backend is configured, CloudUp whether its
	// probes pass.
	Cloud, CloudUp bool
	// Budget is today's cloud budget as last read (BudgetKnown false
	// before the first read of the day).
	Budget      cloudbudget.State
	BudgetKnown bool
	// Missing lists catalog models pulled on no local host.
	Missing []string
	// At is when the capacity counts were read.
	At time.Time
}

func (r *Router) refreshSnapshot(ctx context.Context) {
	sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	st, err := r.pool.Stats(sctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && !r.statsFailing.Swap(true) {
			r.cfg.Log.Warn("routing: capacity statistics unavailable; metrics keep the last values", "err", err)
		}
		return
	}
	r.statsFailing.Store(false)
	s := Snapshot{Waiting: map[string]int{}, Cloud: r.cfg.Cloud != nil, CloudUp: r.cfg.Cloud != nil && r.cloudUp.Load(), Missing: r.Missing(), At: time.Now()}
	for _, h := range r.hosts {
		s.Hosts = append(s.Hosts, HostStatus{Label: h.Label, Slots: h.Slots, InFlight: st.InFlight[h.ID], Healthy: h.Healthy()})
	}
	for p, n := range st.Waiting {
		s.Waiting[r.cfg.TierName(p)] += n
	}
	if r.cfg.Budget != nil {
		s.Budget, s.BudgetKnown = r.cfg.Budget.State()
	}
	r.snap.Store(&s)
}

// Snapshot returns the latest snapshot (refreshed every StatsInterval by
// Run); before the first one, the configuration with zero counts.
func (r *Router) Snapshot() Snapshot {
	if s := r.snap.Load(); s != nil {
		return *s
	}
	s := Snapshot{Waiting: map[string]int{}, Cloud: r.cfg.Cloud != nil, CloudUp: r.cfg.Cloud != nil && r.cloudUp.Load()}
	for _, h := range r.hosts {
		s.Hosts = append(s.Hosts, HostStatus{Label: h.Label, Slots: h.Slots, Healthy: h.Healthy()})
	}
	return s
}

// Check is the readiness check of the upstreams: it fails (degraded, the
// gateway still serves what it can) when a local host is out, the cloud
// is out, or catalog models are pulled on no host. The message names no
// internal host.
func (r *Router) Check(context.Context) error {
	var problems []string
	down := 0
	for _, h := range r.hosts {
		if !h.Healthy() {
			down++
		}
	}
	if down > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d local hosts out of service", down, len(r.hosts)))
	}
	if r.cfg.Cloud != nil && !r.cloudUp.Load() {
		problems = append(problems, "cloud out of service")
	}
	if m := r.Missing(); len(m) > 0 {
		problems = append(problems, "models pulled on no local host: "+strings.Join(m, ", "))
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}
