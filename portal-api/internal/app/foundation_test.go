package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/apitest"
	"github.com/resayil/portal/portal-api/internal/app"
)

func newTestApp(t *testing.T, dsn string, extra ...string) *app.App {
	t.Helper()
	var cfg app.Config
	env := append([]string{"RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_BCRYPT_COST=4",
		"RESAYIL_JWT_SECRET=test-secret-test-secret-test-secret", "RESAYIL_MODELS_FILE=" + apitest.ModelsFile()}, extra...)
	if err := config.Load(&cfg, env); err != nil {
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

func TestReadyz_FailsWhenDatabaseGoes(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		a := newTestApp(t, testenv.EmptySQLite(t)) // development: auto-migrates
		if code, body := readyz(t, a); code != 200 || body["status"] != "ok" {
			t.Fatalf("fresh app not ready: %d %v", code, body)
		}
		_ = a.DB.Close()
		if code, body := readyz(t, a); code != 503 || body["status"] != "fail" {
			t.Fatalf("closed database must fail readiness: %d %v", code, body)
		}
	})
	t.Run("mariadb", func(t *testing.T) {
		t.Parallel()
		dsn := testenv.EmptyMariaDB(t)
		a := newTestApp(t, dsn)
		if code, _ := readyz(t, a); code != 200 {
			t.Fatalf("not ready: %d", code)
		}
		admin, err := database.OpenServer(context.Background(), testenv.MariaDBServerDSN())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE " + dbName(dsn)); err != nil {
			t.Fatal(err)
		}
		code, body := readyz(t, a)
		checks, _ := body["checks"].(map[string]any)
		if code != 503 || checks["database"] == nil {
			t.Fatalf("dropped database must fail readiness naming the check: %d %v", code, body)
		}
	})
}

func TestReadyz_RedisIsCheckedWhenConfigured(t *testing.T) {
	r := testenv.Redis(t)
	a := newTestApp(t, testenv.EmptySQLite(t), "RESAYIL_REDIS_URL="+r.URL, "RESAYIL_REDIS_PREFIX="+r.Prefix)
	code, body := readyz(t, a)
	checks, _ := body["checks"].(map[string]any)
	if code != 200 || checks["redis"] == nil {
		t.Fatalf("redis check missing: %d %v", code, body)
	}
	bad := newTestApp(t, testenv.EmptySQLite(t), "RESAYIL_REDIS_URL=redis://127.0.0.1:1/0")
	if code, body := readyz(t, bad); code != 503 {
		t.Fatalf("unreachable redis must fail readiness: %d %v", code, body)
	}
}

// dbName returns the database name of a go-sql-driver DSN.
func dbName(dsn string) string {
	_, name, _ := strings.Cut(dsn, "/")
	name, _, _ = strings.Cut(name, "?")
	return name
}
