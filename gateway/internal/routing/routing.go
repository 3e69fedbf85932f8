// Package routing picks the backend that serves an admitted request: the
// local Ollama for models it hosts, the cloud for cloud-only models on plans
// that include the cloud.
package routing

import (
	"errors"

	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/resayil"
)

// Route is where one request goes and the model name that backend knows.
type Route struct {
	Backend *upstream.Backend
	Model   string
}

// Router chooses among the configured backends.
type Router struct {
	Local *upstream.Backend
	// Cloud is nil when no cloud backend is configured.
	Cloud *upstream.Backend
}

// ErrNoBackend means no configured backend can serve the model now.
var ErrNoBackend = errors.New("routing: no backend can serve this model")

// Route returns the backend for model m and principal p.
func (r *Router) Route(m *catalog.Model, p resayil.Principal) (Route, error) {
	if m.CloudOnly {
		if r.Cloud == nil || !p.Plan.CloudAllowed {
			return Route{}, ErrNoBackend
		}
		return Route{Backend: r.Cloud, Model: m.Cloud}, nil
	}
	return Route{Backend: r.Local, Model: m.Local}, nil
}
