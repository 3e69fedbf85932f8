package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/app"
	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/authlog/authlogtest"
	"github.com/resayil/portal/pkg/testenv"
)

// The gateway writes one auth-failure line per request whose API key it
// refuses (unknown, revoked, malformed; on every route; again for a key
// already refused and cached), naming the client as RESAYIL_TRUSTED_PROXIES
// says, and none for a request without a key or with a good one. Debian's
// fail2ban-regex, with the gateway jail's filter, counts exactly those
// lines, and with the portal jail's none of them.
func TestE2E_AuthFailureLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth-failures.log")
	g := gatewaytest.Start(t, gatewaytest.Options{Env: []string{
		"RESAYIL_AUTH_FAILURE_LOG=" + path, "RESAYIL_TRUSTED_PROXIES=127.0.0.1",
	}})
	good := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	revoked := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	if _, err := g.DB.SQL.Exec(`UPDATE api_keys SET revoked_at = ? WHERE id = ?`, time.Now().UTC(), int64(revoked.KeyID)); err != nil {
		t.Fatal(err)
	}
	unknown := "sk-" + strings.Repeat("U", 43)

	send := func(method, path, auth, forwardedFor string, want int) {
		t.Helper()
		var body *strings.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}`)
		} else {
			body = strings.NewReader("")
		}
		req, err := http.NewRequest(method, g.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("%s %s (%s): %d, want %d", method, path, auth, res.StatusCode, want)
		}
	}
	send("GET", "/v1/models", "Bearer "+unknown, "203.0.113.20", 401)
	send("POST", "/v1/chat/completions", "Bearer "+revoked.Key, "2001:db8::20", 401)
	send("POST", "/v1/chat/completions", "Bearer hello", "203.0.113.21", 401)
	// The client is the rightmost address that is not a trusted proxy;
	// what it wrote to the left of it is its own invention.
	send("GET", "/v1/models/llama3.2:3b", "Bearer "+unknown, "6.6.6.6, 203.0.113.22", 401)
	send("GET", "/v1/models", "", "203.0.113.23", 401)
	send("GET", "/v1/models", "Basic dXNlcjpwYXNz", "203.0.113.23", 401)
	send("GET", "/v1/models", "Bearer "+good.Key, "203.0.113.23", 200)
	send("GET", "/v1/models", "Bearer "+unknown, "203.0.113.20", 401)

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		_, rest, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("line %q", l)
		}
		got = append(got, rest)
	}
	want := []string{
		"resayil-auth-failure kind=api_key ip=203.0.113.20 subject=sk-UU****UUUU",
		"resayil-auth-failure kind=api_key ip=2001:db8::20 subject=" + maskKey(revoked.Key),
		"resayil-auth-failure kind=api_key ip=203.0.113.21 subject=****",
		"resayil-auth-failure kind=api_key ip=203.0.113.22 subject=sk-UU****UUUU",
		"resayil-auth-failure kind=api_key ip=203.0.113.20 subject=sk-UU****UUUU",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("auth-failure log:\n got %q\nwant %q", got, want)
	}

	// The file also holds portal-api's lines and other text; fail2ban
	// counts each jail's own.
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.WriteString(authlog.Line(time.Now(), authlog.KindLogin, "192.0.2.88", "a@example.com") + "an unrelated line from 192.0.2.89\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, m := range authlogtest.Regex(t, path, "resayil-gateway") {
		ips = append(ips, m.IP)
	}
	if want := []string{"203.0.113.20", "2001:db8::20", "203.0.113.21", "203.0.113.22", "203.0.113.20"}; !slices.Equal(ips, want) {
		t.Fatalf("fail2ban-regex (resayil-gateway) matched %v, want %v", ips, want)
	}
	if portal := authlogtest.Regex(t, path, "resayil-portal"); len(portal) != 1 || portal[0].IP != "192.0.2.88" {
		t.Fatalf("fail2ban-regex (resayil-portal) matched %v, want only portal-api's line", portal)
	}
}

// maskKey is keyauth.MaskKey's "sk-ab****wxyz", computed here so that the
// test states the shape it expects.
func maskKey(key string) string { return key[:5] + "****" + key[len(key)-4:] }

// A bad RESAYIL_TRUSTED_PROXIES, or an auth-failure log that cannot be
// opened, stops the gateway with an error naming the variable.
func TestConfig_TrustedProxiesAndAuthFailureLog(t *testing.T) {
	if _, err := loadConfig(t, "RESAYIL_TRUSTED_PROXIES=10.0.0.0/8,proxy.local"); err == nil || !strings.HasPrefix(err.Error(), "RESAYIL_TRUSTED_PROXIES:") {
		t.Fatalf("a host name in RESAYIL_TRUSTED_PROXIES: %v", err)
	}
	cfg, err := loadConfig(t, "RESAYIL_TRUSTED_PROXIES= 10.0.0.0/8, 192.168.1.1 ,::1")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := cfg.ProxyPrefixes(); err != nil || len(p) != 3 {
		t.Fatalf("proxies %v %v", p, err)
	}
	db, dsn := testenv.SQLite(t)
	gatewaytest.Plans(t, db)
	cfg, err = loadConfig(t, "RESAYIL_DB_DSN="+dsn, "RESAYIL_DATA_DIR="+t.TempDir(), "RESAYIL_MODELS_FILE="+gatewaytest.ModelsFile(),
		"RESAYIL_AUTH_FAILURE_LOG="+filepath.Join(t.TempDir(), "missing", "auth.log"))
	if err != nil {
		t.Fatal(err)
	}
	if a, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler)); err == nil || !strings.HasPrefix(err.Error(), "RESAYIL_AUTH_FAILURE_LOG:") {
		if a != nil {
			a.Close()
		}
		t.Fatalf("an auth-failure log in a missing folder: %v", err)
	}
}
