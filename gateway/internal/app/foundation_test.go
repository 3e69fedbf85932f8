package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/resayil/portal/gateway/internal/app"
	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/testenv"
)

func newTestApp(t *testing.T, env ...string) *app.App {
	t.Helper()
	var cfg app.Config
	base := []string{"RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_MODELS_FILE=" + gatewaytest.ModelsFile(), "RESAYIL_GATEWAY_METRICS_ADDR="}
	if err := config.Load(&cfg, append(base, env...)); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), &cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

func readyz(t *testing.T, a *app.App) (int, map[string]any) {
	t.Helper()
	resp, err := a.HTTP.Test(httptest.NewRequest("GET", "/readyz", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func status(body map[string]any, check string) any {
	checks, _ := body["checks"].(map[string]any)
	c, _ := checks[check].(map[string]any)
	return c["status"]
}

func TestReadyz_EmbeddedModeNeedsTheDatabase(t *testing.T) {
	_, dsn := testenv.SQLite(t)
	a := newTestApp(t, "RESAYIL_DB_DSN="+dsn)
	if code, body := readyz(t, a); code != 200 || body["status"] != "ok" {
		t.Fatalf("not ready: %d %v", code, body)
	}
	_ = a.DB.Close()
	if code, body := readyz(t, a); code != 503 || status(body, "database") != "fail" {
		t.Fatalf("embedded mode without its database must be unready: %d %v", code, body)
	}
}

func TestReadyz_SchemaBehindIsUnready(t *testing.T) {
	a := newTestApp(t, "RESAYIL_DB_DSN="+testenv.EmptySQLite(t))
	if code, body := readyz(t, a); code != 503 || status(body, "database") != "fail" {
		t.Fatalf("an unmigrated database must make the gateway unready: %d %v", code, body)
	}
}

func TestReadyz_RedisModeDatabaseOutageIsDegraded(t *testing.T) {
	r := testenv.Redis(t)
	_, dsn := testenv.SQLite(t)
	a := newTestApp(t, "RESAYIL_DB_DSN="+dsn, "RESAYIL_REDIS_URL="+r.URL, "RESAYIL_REDIS_PREFIX="+r.Prefix)
	if code, body := readyz(t, a); code != 200 || status(body, "redis") != "ok" {
		t.Fatalf("not ready: %d %v", code, body)
	}
	_ = a.DB.Close()
	if code, body := readyz(t, a); code != 200 || body["status"] != "degraded" || status(body, "database") != "degraded" {
		t.Fatalf("Redis mode serves warm keys without the database: want 200 degraded, got %d %v", code, body)
	}
	down := newTestApp(t, "RESAYIL_DB_DSN="+dsn, "RESAYIL_REDIS_URL=redis://127.0.0.1:1/0")
	if code, body := readyz(t, down); code != 503 || status(body, "redis") != "fail" {
		t.Fatalf("unreachable Redis must fail readiness: %d %v", code, body)
	}
}

func TestHealthz_AndOpenAIErrorShapeForUnknownRoutes(t *testing.T) {
	_, dsn := testenv.SQLite(t)
	a := newTestApp(t, "RESAYIL_DB_DSN="+dsn)
	resp, err := a.HTTP.Test(httptest.NewRequest("GET", "/healthz", nil), -1)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp.StatusCode, err)
	}
	resp, err = a.HTTP.Test(httptest.NewRequest("GET", "/v1/nothing", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct {
			Message, Type string
			Param, Code   *string
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 404 || body.Error.Type != "invalid_request_error" || body.Error.Message == "" || body.Error.Param != nil {
		t.Fatalf("want OpenAI-shaped 404, got %d %+v", resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		t.Fatal("no X-Request-Id echoed")
	}
}
