package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/apitest"
	"github.com/resayil/portal/portal-api/internal/app"
	"github.com/resayil/portal/portal-api/internal/store"
)

// TestConfig_ProductionBcryptFloor: production refuses a bcrypt cost below
// app.MinProductionBcryptCost; development may go as low as 4 (tests).
func TestConfig_ProductionBcryptFloor(t *testing.T) {
	if app.MinProductionBcryptCost < 12 {
		t.Fatalf("MinProductionBcryptCost is %d, production needs at least 12", app.MinProductionBcryptCost)
	}
	load := func(env ...string) error {
		var cfg app.Config
		env = append([]string{"RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_JWT_SECRET=" + strings.Repeat("s", 40), "RESAYIL_MYFATOORAH_TOKEN=t",
			"RESAYIL_WHATSAPP_TOKEN=t", "RESAYIL_WHATSAPP_PHONE_NUMBER_ID=1"}, env...)
		if err := config.Load(&cfg, env); err != nil {
			return err
		}
		return cfg.Validate()
	}
	below := "RESAYIL_BCRYPT_COST=" + itoa(app.MinProductionBcryptCost-1)
	if err := load("RESAYIL_ENV=production", below); err == nil || !strings.HasPrefix(err.Error(), "RESAYIL_BCRYPT_COST:") {
		t.Errorf("production with %s: %v, want a RESAYIL_BCRYPT_COST error", below, err)
	}
	if err := load("RESAYIL_ENV=production", "RESAYIL_BCRYPT_COST="+itoa(app.MinProductionBcryptCost)); err != nil {
		t.Errorf("production at the floor: %v", err)
	}
	if err := load("RESAYIL_ENV=production"); err != nil {
		t.Errorf("production with the default cost: %v", err)
	}
	if err := load("RESAYIL_BCRYPT_COST=4"); err != nil {
		t.Errorf("development at cost 4: %v", err)
	}
	for _, ttl := range []string{"16m", "0s", "-1m"} {
		if err := load("RESAYIL_ACCESS_TOKEN_TTL=" + ttl); err == nil || !strings.HasPrefix(err.Error(), "RESAYIL_ACCESS_TOKEN_TTL:") {
			t.Errorf("access token TTL %s: %v", ttl, err)
		}
	}
	if err := load("RESAYIL_TRUSTED_PROXIES=10.0.0.0/8, 192.168.1.1, ::1"); err != nil {
		t.Errorf("trusted proxies: %v", err)
	}
	if err := load("RESAYIL_TRUSTED_PROXIES=10.0.0.0/8,proxy.local"); err == nil || !strings.HasPrefix(err.Error(), "RESAYIL_TRUSTED_PROXIES:") {
		t.Errorf("bad trusted proxy: %v", err)
	}
}

// TestConfig_ThrottleVariables: the login, registration and hashing limits
// are read and checked, each bad value naming its variable.
func TestConfig_ThrottleVariables(t *testing.T) {
	load := func(env ...string) (app.Config, error) {
		var cfg app.Config
		env = append([]string{"RESAYIL_DATA_DIR=" + t.TempDir()}, env...)
		if err := config.Load(&cfg, env); err != nil {
			return cfg, err
		}
		return cfg, cfg.Validate()
	}
	cfg, err := load()
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.LoginLimits()
	if l.PerAccountAndIP.Requests != 5 || l.PerAccount.Requests != 50 || l.PerIP.Requests != 20 || l.PerAccount.Per != 15*time.Minute ||
		cfg.RegisterRateLimit().Requests != 10 || cfg.RegisterRateLimit().Per != time.Hour || cfg.HashConcurrency != 2 || cfg.HashWait != 500*time.Millisecond {
		t.Errorf("defaults: %+v, register %+v, gate %d/%s", l, cfg.RegisterRateLimit(), cfg.HashConcurrency, cfg.HashWait)
	}
	for _, bad := range []string{
		"RESAYIL_LOGIN_LIMIT=0", "RESAYIL_LOGIN_IP_LIMIT=-1", "RESAYIL_LOGIN_WINDOW=0s", "RESAYIL_REGISTER_LIMIT=0",
		"RESAYIL_REGISTER_WINDOW=-1h", "RESAYIL_HASH_CONCURRENCY=0", "RESAYIL_HASH_WAIT=2m", "RESAYIL_ADMIN_EMAIL=\u212Aate@example.com",
	} {
		name, _, _ := strings.Cut(bad, "=")
		if _, err := load(bad); err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%s: %v, want an error naming %s", bad, err, name)
		}
	}
	// A ceiling below the tight limit would let anyone lock the owner out again.
	if _, err := load("RESAYIL_LOGIN_LIMIT=10", "RESAYIL_LOGIN_ACCOUNT_LIMIT=9"); err == nil || !strings.HasPrefix(err.Error(), "RESAYIL_LOGIN_ACCOUNT_LIMIT:") {
		t.Errorf("ceiling below the tight limit: %v", err)
	}
}

// TestProduction_SecureCookieAndBcryptCost runs portal-api with a
// production configuration: passwords are hashed at cost 12 or more, and
// the refresh cookie is Secure.
func TestProduction_SecureCookieAndBcryptCost(t *testing.T) {
	db, dsn := testenv.SQLite(t)
	h := apitest.New(t, db, dsn, apitest.Options{Env: []string{"RESAYIL_ENV=production", "RESAYIL_BCRYPT_COST=12", "RESAYIL_MYFATOORAH_TOKEN=t",
		"RESAYIL_WHATSAPP_TOKEN=t", "RESAYIL_WHATSAPP_PHONE_NUMBER_ID=1"}})
	c := h.NewClient()
	u := c.Register(t, apitest.UniqueEmail("prod"))
	var hash string
	if err := h.DB.Gorm.Raw("SELECT password_hash FROM users WHERE id = ?", u.ID).Scan(&hash).Error; err != nil {
		t.Fatal(err)
	}
	if cost, err := account.Cost(hash); err != nil || cost < app.MinProductionBcryptCost {
		t.Errorf("production hash cost %d (%v), want at least %d", cost, err, app.MinProductionBcryptCost)
	}
	// Log in as a user seeded with a cheap hash: comparing against a cost-12
	// hash takes seconds under the race detector, and the cost was checked.
	cheap, err := account.Hasher{Cost: 4}.Hash(apitest.DefaultPassword)
	if err != nil {
		t.Fatal(err)
	}
	email := apitest.UniqueEmail("prod-login")
	if _, err := h.App.Store.CreateUser(context.Background(), store.NewUser{Email: email, Name: "P", Phone: "+96512345678",
		PasswordHash: cheap, Role: resayil.RoleUser, Locale: resayil.LocaleEN}, time.Now()); err != nil {
		t.Fatal(err)
	}
	res := c.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/login",
		Body: map[string]any{"email": email, "password": apitest.DefaultPassword, "remember_me": true}}).Want(t, http.StatusOK)
	raw := res.RawCookie(apitest.RefreshCookie)
	if !strings.Contains(raw, "; Secure") || !strings.Contains(raw, "HttpOnly") || !strings.Contains(raw, "SameSite=Strict") {
		t.Errorf("production refresh cookie %q must be Secure, HttpOnly, SameSite=Strict", raw)
	}
	if ck := c.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/logout"}).Want(t, http.StatusNoContent).RawCookie(apitest.RefreshCookie); !strings.Contains(ck, "; Secure") {
		t.Errorf("the clearing cookie must be Secure too: %q", ck)
	}
}

// TestNew_ServesAccountsAndKeys builds the program the way `serve` does
// (app.New, no test options) and walks a user's journey: register, log in,
// create an API key, log out, and find the session gone.
func TestNew_ServesAccountsAndKeys(t *testing.T) {
	a := newTestApp(t, testenv.EmptySQLite(t))
	do := func(method, path, token, body string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := a.HTTP.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if res := do("POST", "/api/v1/auth/register", "", `{"name":"E2E","email":"e2e@example.com","phone":"+96512345678","password":"plum-orbit-cactus-42"}`); res.StatusCode != 201 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	res := do("POST", "/api/v1/auth/login", "", `{"email":"e2e@example.com","password":"plum-orbit-cactus-42"}`)
	var tok apitest.TokenResponse
	decode(t, res, &tok)
	if res := do("POST", "/api/v1/api-keys", tok.AccessToken, `{"name":"e2e"}`); res.StatusCode != 201 {
		t.Fatalf("create key: %d", res.StatusCode)
	}
	if res := do("POST", "/api/v1/auth/logout", tok.AccessToken, ""); res.StatusCode != 204 {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	if res := do("GET", "/api/v1/api-keys", tok.AccessToken, ""); res.StatusCode != 401 {
		t.Fatalf("the logged-out token was accepted: %d", res.StatusCode)
	}
}
