package api_test

import (
	"sync"
	"testing"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

// eachBackend runs fn in parallel on SQLite and MariaDB, each with its own
// portal-api and database.
func eachBackend(t *testing.T, fn func(t *testing.T, h *apitest.Harness)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, harness(t, b))
		})
	}
}

// eachBackendFresh is eachBackend for subtests that need a portal-api of
// their own (they move the clock): fn gets a constructor.
func eachBackendFresh(t *testing.T, fn func(t *testing.T, newHarness func(t *testing.T, opts ...apitest.Options) *apitest.Harness)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, func(t *testing.T, opts ...apitest.Options) *apitest.Harness { return harness(t, b, opts...) })
		})
	}
}

// post is a JSON POST.
func post(path string, body any) apitest.Request {
	return apitest.Request{Method: "POST", Path: path, Body: body}
}

func get(path string) apitest.Request { return apitest.Request{Method: "GET", Path: path} }

// harness starts portal-api on a fresh database of the backend.
func harness(t testing.TB, b testenv.Backend, opts ...apitest.Options) *apitest.Harness {
	t.Helper()
	db, dsn := testenv.Open(t, b)
	return apitest.New(t, db, dsn, opts...)
}

// goErrs gathers what the test's other goroutines found (they call the
// Try variants, never t.Fatal), for the test's goroutine to report.
type goErrs struct {
	mu   sync.Mutex
	errs []error
}

// add records err unless it is nil, and reports whether it was nil.
func (g *goErrs) add(err error) bool {
	if err == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errs = append(g.errs, err)
	return false
}

// report fails the test with every error gathered; call it after the
// goroutines are done.
func (g *goErrs) report(t testing.TB) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, err := range g.errs {
		t.Error(err)
	}
}

// status is res's status, or 0 when err says there is no response; err
// goes to errs.
func (g *goErrs) status(res *apitest.Response, err error) int {
	g.add(err)
	if res == nil {
		return 0
	}
	return res.Status
}
