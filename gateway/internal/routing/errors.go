package routing

import (
	"errors"

	"github.com/resayil/portal/gateway/internal/upstream"
)

// Errors of Serve besides the last upstream failure (an *upstream.Error)
// and a store's (resayil.EUNAVAILABLE).
var (
	// ErrNoBackend: no healthy host has the model and the cloud cannot
	// take it (503 model_unavailable).
	ErrNoBackend = errors.New("routing: no backend can serve this model now")
	// ErrServerBusy: the local hosts stayed full for the queue timeout, the
	// queue is at its bound, or the gateway is shutting down (503
	// server_busy with Retry-After: retrying is right).
	ErrServerBusy = errors.New("routing: the local models are busy")
	// ErrCloudExhausted: a cloud-only model while today's cloud budget is
	// used up (503 cloud_capacity_exhausted, x-should-retry: false).
	ErrCloudExhausted = errors.New("routing: today's cloud budget is used up")
)

// Reason says why a request left the backend it would otherwise have used.
type Reason string

// Failover reasons (metric label values).
const (
	// ReasonLoad: more requests waited for local slots than the threshold.
	ReasonLoad Reason = "load"
	// ReasonQueueTimeout: no local slot within the queue timeout.
	ReasonQueueTimeout Reason = "queue_timeout"
	// ReasonQueueFull: the local queue was at its bound.
	ReasonQueueFull Reason = "queue_full"
	// ReasonNoHost: no healthy host has the model.
	ReasonNoHost Reason = "no_host"
	// ReasonUnreachable: the connection was refused (nothing was sent).
	ReasonUnreachable Reason = "unreachable"
	// ReasonTimeout: no first byte within the first-byte timeout.
	ReasonTimeout Reason = "timeout"
	// ReasonError: a 5xx (Ollama's own queue full, a crash) or a failed
	// first event.
	ReasonError Reason = "error"
)

// failure classifies an upstream failure before the first byte: whether
// another backend may be tried, and why. A 404 means the model is not on
// that host (pulled since the last probe, or removed): another host or the
// cloud may have it.
func failure(err error) (Reason, bool) {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		return "", false
	}
	if ue.Status == 404 {
		return ReasonNoHost, true
	}
	if !ue.Retryable() {
		return "", false
	}
	switch {
	case ue.NotSent:
		return ReasonUnreachable, true
	case ue.Timeout:
		return ReasonTimeout, true
	}
	return ReasonError, true
}

// notSent reports whether err proves the request never reached the
// backend.
func notSent(err error) bool {
	var ue *upstream.Error
	return errors.As(err, &ue) && ue.NotSent
}
