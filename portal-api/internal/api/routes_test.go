package api_test

import (
	"net/http"
	"regexp"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPI_MatchesRoutes fails when a route registered in the Fiber app
// is missing from openapi.yaml, or the spec documents a route the app does
// not serve.
func TestOpenAPI_MatchesRoutes(t *testing.T) {
	h := harness(t, testenv.SQLiteBackend)
	seen := map[string]bool{}
	var registered []string
	for _, r := range h.App.HTTP.GetRoutes(true) {
		if r.Method == http.MethodHead {
			continue // Fiber adds HEAD to every GET
		}
		op := r.Method + " " + fiberParam.ReplaceAllString(r.Path, "{$1}")
		if !seen[op] {
			seen[op] = true
			registered = append(registered, op)
		}
	}
	documented := apitest.LoadSpec(t).Operations()
	sort.Strings(registered)
	sort.Strings(documented)
	if diff := cmp.Diff(documented, registered); diff != "" {
		t.Errorf("routes (-openapi.yaml +Fiber app):\n%s", diff)
	}
}

// TestAuthRoutes_RefuseWithoutToken checks every route behind a bearer
// token refuses a request without one, and one with a forged token.
func TestAuthRoutes_RefuseWithoutToken(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		forged := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwic2lkIjoieCJ9.c2lnbmF0dXJl"
		for _, r := range []apitest.Request{
			post("/api/v1/auth/logout-all", nil),
			get("/api/v1/me"),
			{Method: "PATCH", Path: "/api/v1/me", Body: map[string]any{"name": "X"}},
			post("/api/v1/me/password", map[string]any{"current_password": "a", "new_password": "b"}),
			post("/api/v1/api-keys", map[string]any{"name": "k"}),
			get("/api/v1/api-keys"),
			{Method: "DELETE", Path: "/api/v1/api-keys/1"},
		} {
			res := h.Do(t, r).Want(t, http.StatusUnauthorized)
			if e := res.Error(t); e.Code != "unauthorized" || res.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s %s: %+v, WWW-Authenticate %q", r.Method, r.Path, e, res.Header.Get("WWW-Authenticate"))
			}
			r.Token = forged
			h.Do(t, r).Want(t, http.StatusUnauthorized)
		}
	})
}

func TestHealthAndSpecRoutes(t *testing.T) {
	h := harness(t, testenv.SQLiteBackend)
	h.Do(t, get("/healthz")).Want(t, http.StatusOK)
	h.Do(t, get("/readyz")).Want(t, http.StatusOK)
	res := h.Do(t, get("/api/v1/openapi.yaml")).Want(t, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); ct != "application/yaml" || len(res.Body) < 1000 {
		t.Errorf("spec served as %q, %d bytes", ct, len(res.Body))
	}
	if e := h.Do(t, get("/api/v1/nothing-here")).Want(t, http.StatusNotFound).Error(t); e.Code != "not_found" {
		t.Errorf("unknown route: %+v", e)
	}
}
