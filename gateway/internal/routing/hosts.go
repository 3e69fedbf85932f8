package routing

import (
	"net/url"
	"sync/atomic"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/upstream"
)

// Host is one local Ollama host: its backend, its slots (its
// OLLAMA_NUM_PARALLEL), its health and the models pulled there, as the
// probes last saw them.
type Host struct {
	// ID is the host's base URL: the same in every replica, it names the
	// host in the capacity store.
	ID string
	// Label is host:port, for metrics and logs (no credentials, no path).
	Label   string
	Backend *upstream.Backend
	Slots   int

	healthy atomic.Bool
	// models is nil until a probe listed them: until then every model is
	// assumed present, so a starting gateway does not refuse requests.
	models  atomic.Pointer[map[string]bool]
	version atomic.Pointer[string]
	fails   atomic.Int32
}

// NewHost returns a host, healthy until probes say otherwise.
func NewHost(b *upstream.Backend, slots int) *Host {
	label := b.BaseURL
	if u, err := url.Parse(b.BaseURL); err == nil && u.Host != "" {
		label = u.Host
	}
	h := &Host{ID: b.BaseURL, Label: label, Backend: b, Slots: max(slots, 1)}
	h.healthy.Store(true)
	return h
}

// Healthy reports whether the host is in service.
func (h *Host) Healthy() bool { return h.healthy.Load() }

// Has reports whether the model (an Ollama name) is pulled on the host, as
// far as the probes know.
func (h *Host) Has(model string) bool {
	m := h.models.Load()
	return m == nil || (*m)[upstream.ModelName(model)]
}

// Models returns the models the probes listed, and whether they have.
func (h *Host) Models() (map[string]bool, bool) {
	m := h.models.Load()
	if m == nil {
		return nil, false
	}
	return *m, true
}

func (h *Host) capacity() capacity.Host {
	if !h.Healthy() {
		return capacity.Host{ID: h.ID}
	}
	return capacity.Host{ID: h.ID, Slots: h.Slots}
}
