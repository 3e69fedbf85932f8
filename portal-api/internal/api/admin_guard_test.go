package api_test

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

var specParam = regexp.MustCompile(`\{[^}]+\}`)

// adminOperations lists every documented operation under /api/v1/admin
// as a request, its path parameters filled with 1. TestOpenAPI_MatchesRoutes
// proves the spec and the route table list the same routes, so this is
// every admin route the app serves.
func adminOperations(t *testing.T) []apitest.Request {
	t.Helper()
	var out []apitest.Request
	for _, op := range apitest.LoadSpec(t).Operations() {
		method, path, _ := strings.Cut(op, " ")
		if path != "/api/v1/admin" && !strings.HasPrefix(path, "/api/v1/admin/") {
			continue
		}
		out = append(out, apitest.Request{Method: method, Path: specParam.ReplaceAllString(path, "1")})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path+out[i].Method < out[j].Path+out[j].Method })
	return out
}

// TestAdminRoutes_Guarded walks every /api/v1/admin path and method of
// openapi.yaml: each answers 401 without a session and 403 to a signed-in
// user who is not an admin, before it reads its input. A new admin route
// that forgets adminOnly fails here.
func TestAdminRoutes_Guarded(t *testing.T) {
	ops := adminOperations(t)
	if len(ops) < 7 {
		t.Fatalf("only %d admin operations found in openapi.yaml: %v", len(ops), ops)
	}
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, _ := h.SignUp(t, "notadmin")
		for _, r := range ops {
			res := h.Do(t, r)
			if res.Status != http.StatusUnauthorized {
				t.Errorf("%s %s without a session: %d, want 401; body %s", r.Method, r.Path, res.Status, res.Body)
			} else if e := res.Error(t); e.Code != "unauthorized" {
				t.Errorf("%s %s without a session: %+v", r.Method, r.Path, e)
			}
			res = c.Do(t, r)
			if res.Status != http.StatusForbidden {
				t.Errorf("%s %s as a non-admin: %d, want 403; body %s", r.Method, r.Path, res.Status, res.Body)
			} else if e := res.Error(t); e.Code != "forbidden" {
				t.Errorf("%s %s as a non-admin: %+v", r.Method, r.Path, e)
			}
		}
	})
}
