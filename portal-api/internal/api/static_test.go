package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/portal-api/internal/api"
)

const (
	testIndex  = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`
	testScript = `console.log("the app");`
)

// spaDir writes a small built app: index.html, a hashed script with its
// .gz, a favicon, a hidden file and Vite's manifest folder; and a secret
// beside (outside) it.
func spaDir(t *testing.T) string {
	t.Helper()
	parent := t.TempDir()
	dir := filepath.Join(parent, "dist")
	write := func(name string, b []byte) {
		t.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(testScript))
	_ = zw.Close()
	write("index.html", []byte(testIndex))
	write("assets/index-abc123.js", []byte(testScript))
	write("assets/index-abc123.js.gz", gz.Bytes())
	write("favicon.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))
	write(".env", []byte("SECRET=hidden-file"))
	write(".vite/manifest.json", []byte(`{"secret":"manifest"}`))
	if err := os.WriteFile(filepath.Join(parent, "secret.txt"), []byte("outside-the-root"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func spaApp(t *testing.T, dir string) *fiber.App {
	t.Helper()
	return api.New(api.Deps{Logger: slog.New(slog.DiscardHandler), StaticDir: dir})
}

type answer struct {
	status int
	header http.Header
	body   string
}

func call(t *testing.T, app *fiber.App, method, target string, header map[string]string) answer {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(b)}
}

// wantAppHeaders checks the headers every answer of the web app carries.
func wantAppHeaders(t *testing.T, what string, a answer, cache string) {
	t.Helper()
	csp := a.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP %q allows inline or eval", what, csp)
	}
	for k, v := range map[string]string{
		"Cache-Control":                cache,
		"X-Content-Type-Options":       "nosniff",
		"X-Frame-Options":              "DENY",
		"Referrer-Policy":              "strict-origin-when-cross-origin",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
	} {
		if got := a.header.Get(k); got != v {
			t.Errorf("%s: %s is %q, want %q", what, k, got, v)
		}
	}
}

func TestSPA_IndexForEveryAppPath(t *testing.T) {
	app := spaApp(t, spaDir(t))
	for _, p := range []string{"/", "/index.html", "/dashboard", "/billing/result?payment=3&status=paid", "/no/such/page", "/favicon.ico"} {
		a := call(t, app, http.MethodGet, p, nil)
		if a.status != http.StatusOK || a.body != testIndex {
			t.Errorf("GET %s: %d %q, want index.html", p, a.status, a.body)
			continue
		}
		if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("GET %s: Content-Type %q", p, ct)
		}
		wantAppHeaders(t, "GET "+p, a, "no-cache")
	}
}

func TestSPA_HashedAssetsAreImmutable(t *testing.T) {
	app := spaApp(t, spaDir(t))
	a := call(t, app, http.MethodGet, "/assets/index-abc123.js", nil)
	if a.status != http.StatusOK || a.body != testScript {
		t.Fatalf("script: %d %q", a.status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("script Content-Type %q", ct)
	}
	if a.header.Get("Content-Encoding") != "" {
		t.Errorf("gzip sent to a client that did not ask for it")
	}
	wantAppHeaders(t, "script", a, "public, max-age=31536000, immutable")

	fav := call(t, app, http.MethodGet, "/favicon.svg", nil)
	if fav.status != http.StatusOK || !strings.HasPrefix(fav.header.Get("Content-Type"), "image/svg+xml") {
		t.Errorf("favicon: %d %q", fav.status, fav.header.Get("Content-Type"))
	}
	wantAppHeaders(t, "favicon", fav, "no-cache")
}

func TestSPA_GzipWhenAccepted(t *testing.T) {
	app := spaApp(t, spaDir(t))
	a := call(t, app, http.MethodGet, "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "br, gzip"})
	if a.header.Get("Content-Encoding") != "gzip" || !strings.Contains(a.header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("Content-Encoding %q, Vary %q", a.header.Get("Content-Encoding"), a.header.Get("Vary"))
	}
	zr, err := gzip.NewReader(strings.NewReader(a.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if string(plain) != testScript {
		t.Errorf("gunzipped %q", plain)
	}
	refused := call(t, app, http.MethodGet, "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "gzip;q=0"})
	if refused.header.Get("Content-Encoding") != "" || refused.body != testScript {
		t.Errorf("gzip;q=0: Content-Encoding %q", refused.header.Get("Content-Encoding"))
	}
}

func TestSPA_MissingAssetIs404NotTheApp(t *testing.T) {
	app := spaApp(t, spaDir(t))
	a := call(t, app, http.MethodGet, "/assets/index-old999.js", nil)
	if a.status != http.StatusNotFound || a.body == testIndex {
		t.Errorf("missing asset: %d %q", a.status, a.body)
	}
}

// TestSPA_APIStaysJSON: under /api nothing is the app's, and the API's
// answers keep the API's headers.
func TestSPA_APIStaysJSON(t *testing.T) {
	app := spaApp(t, spaDir(t))
	for _, p := range []string{"/api", "/api/", "/api/v1/nothing-here", "/api/v1/dashboard"} {
		a := call(t, app, http.MethodGet, p, nil)
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		if err := json.Unmarshal([]byte(a.body), &body); err != nil || a.status != http.StatusNotFound || body.Error.Code != "not_found" {
			t.Errorf("GET %s: %d %q, want the JSON 404", p, a.status, a.body)
		}
		if csp := a.header.Get("Content-Security-Policy"); csp != "frame-ancestors 'none'" {
			t.Errorf("GET %s: CSP %q, want the API's", p, csp)
		}
		if cc := a.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET %s: Cache-Control %q", p, cc)
		}
	}
	spec := call(t, app, http.MethodGet, "/api/v1/openapi.yaml", nil)
	if spec.status != http.StatusOK || !strings.HasPrefix(spec.body, "openapi:") {
		t.Errorf("the spec route is shadowed: %d", spec.status)
	}
	health := call(t, app, http.MethodGet, "/healthz", nil)
	if health.status != http.StatusOK || !strings.Contains(health.body, `"ok"`) {
		t.Errorf("/healthz shadowed: %d %q", health.status, health.body)
	}
	// Only GET and HEAD are the app's; a POST to a page is no route.
	if a := call(t, app, http.MethodPost, "/dashboard", nil); a.status != http.StatusNotFound || a.body == testIndex {
		t.Errorf("POST /dashboard: %d %q", a.status, a.body)
	}
}

func TestSPA_NothingOutsideOrHidden(t *testing.T) {
	app := spaApp(t, spaDir(t))
	for _, p := range []string{"/../secret.txt", "/..%2fsecret.txt", "/assets/../../secret.txt", "/.env", "/.vite/manifest.json", "/%2e%2e/secret.txt"} {
		a := call(t, app, http.MethodGet, p, nil)
		if strings.Contains(a.body, "outside-the-root") || strings.Contains(a.body, "hidden-file") || strings.Contains(a.body, "manifest") {
			t.Errorf("GET %s served %q", p, a.body)
		}
	}
}

func TestSPA_Revalidation(t *testing.T) {
	dir := spaDir(t)
	app := spaApp(t, dir)
	first := call(t, app, http.MethodGet, "/", nil)
	etag := first.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on index.html")
	}
	again := call(t, app, http.MethodGet, "/settings", map[string]string{"If-None-Match": etag})
	if again.status != http.StatusNotModified || again.body != "" {
		t.Errorf("revalidation: %d %q", again.status, again.body)
	}
	// A rebuild while the portal runs is served at once, with a new ETag.
	rebuilt := strings.Replace(testIndex, "abc123", "def456", 1)
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte(rebuilt), 0o644); err != nil {
		t.Fatal(err)
	}
	after := call(t, app, http.MethodGet, "/", map[string]string{"If-None-Match": etag})
	if after.status != http.StatusOK || after.body != rebuilt || after.header.Get("ETag") == etag {
		t.Errorf("after a rebuild: %d %q, ETag %q", after.status, after.body, after.header.Get("ETag"))
	}
	asset := call(t, app, http.MethodGet, "/assets/index-abc123.js", nil)
	if again := call(t, app, http.MethodGet, "/assets/index-abc123.js", map[string]string{"If-None-Match": asset.header.Get("ETag")}); again.status != http.StatusNotModified {
		t.Errorf("asset revalidation: %d", again.status)
	}
}

func TestSPA_Head(t *testing.T) {
	app := spaApp(t, spaDir(t))
	a := call(t, app, http.MethodHead, "/dashboard", nil)
	if a.status != http.StatusOK || a.body != "" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
		t.Errorf("HEAD: %d %q %q", a.status, a.body, a.header.Get("Content-Type"))
	}
}

// TestSPA_NoBuildServesNothing: a static dir without index.html (the
// default frontend/dist before a build) leaves the portal as it was:
// every unknown path is the JSON 404.
func TestSPA_NoBuildServesNothing(t *testing.T) {
	for name, dir := range map[string]string{"missing": filepath.Join(t.TempDir(), "nope"), "empty": t.TempDir()} {
		app := spaApp(t, dir)
		a := call(t, app, http.MethodGet, "/dashboard", nil)
		if a.status != http.StatusNotFound || !strings.Contains(a.body, `"not_found"`) {
			t.Errorf("%s dir: %d %q", name, a.status, a.body)
		}
	}
}
