package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/testenv"
)

func runCmd(t *testing.T, environ []string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, environ, &out, &errb)
	return out.String() + errb.String(), err
}

func TestCommands_MigrateSeedStatus(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			dsn := testenv.EmptySQLite(t)
			if b == testenv.MariaDBBackend {
				dsn = testenv.EmptyMariaDB(t)
			}
			env := []string{"RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_BCRYPT_COST=4"}
			out, err := runCmd(t, env, "migrate", "status")
			if err != nil || !strings.Contains(out, "pending") {
				t.Fatalf("status before up: %v\n%s", err, out)
			}
			// up applies every migration status listed as pending.
			pending := fmt.Sprintf("applied %d migration(s)", strings.Count(out, " pending\n"))
			if out, err := runCmd(t, env, "migrate", "up"); err != nil || !strings.Contains(out, pending) {
				t.Fatalf("up: %v\n%s", err, out)
			}
			out, err = runCmd(t, env, "seed")
			if err != nil || !strings.Contains(out, "3 plan(s), 3 top-up pack(s)") || !strings.Contains(out, "admin created: true") {
				t.Fatalf("seed: %v\n%s", err, out)
			}
			if !strings.Contains(out, "admin login: admin@resayil.local / ") {
				t.Fatalf("a generated development password must be printed once:\n%s", out)
			}
			out, err = runCmd(t, env, "seed")
			if err != nil || !strings.Contains(out, "0 plan(s), 0 top-up pack(s), 0 template(s), admin created: false") || strings.Contains(out, "admin login") {
				t.Fatalf("second seed must change nothing and print no password: %v\n%s", err, out)
			}
			if out, err := runCmd(t, env, "migrate", "down"); err != nil {
				t.Fatalf("down: %v\n%s", err, out)
			}
			if out, err := runCmd(t, env, "migrate", "sideways"); err == nil {
				t.Fatalf("unknown migrate command accepted: %s", out)
			}
		})
	}
}

func TestCommands_ConfigErrorsNameTheVariable(t *testing.T) {
	cases := map[string][]string{
		"RESAYIL_ENV":          {"RESAYIL_ENV=staging"},
		"RESAYIL_JWT_SECRET":   {"RESAYIL_ENV=production", "RESAYIL_ADMIN_PASSWORD=long-enough-password"},
		"RESAYIL_BCRYPT_COST":  {"RESAYIL_ENV=production", "RESAYIL_JWT_SECRET=" + strings.Repeat("k", 32), "RESAYIL_BCRYPT_COST=10"},
		"RESAYIL_PORTAL_ADDR":  {"RESAYIL_PORTAL_ADDR=8081"},
		"RESAYIL_CORS_ORIGINS": {"RESAYIL_CORS_ORIGINS=localhost"},
		"RESAYIL_ADMIN_EMAIL":  {"RESAYIL_ADMIN_EMAIL=nobody"},
		// Production refuses to start without the MyFatoorah token, and
		// never talks to it over plain http.
		"RESAYIL_MYFATOORAH_TOKEN":    {"RESAYIL_ENV=production", "RESAYIL_JWT_SECRET=" + strings.Repeat("k", 32)},
		"RESAYIL_MYFATOORAH_BASE_URL": {"RESAYIL_ENV=production", "RESAYIL_JWT_SECRET=" + strings.Repeat("k", 32), "RESAYIL_MYFATOORAH_TOKEN=t", "RESAYIL_MYFATOORAH_BASE_URL=http://127.0.0.1:8089"},
	}
	for name, env := range cases {
		env = append(env, "RESAYIL_DATA_DIR="+t.TempDir())
		_, err := runCmd(t, env, "serve")
		if err == nil || !strings.HasPrefix(err.Error(), name+":") {
			t.Errorf("%v: want an error starting with %s, got %v", env, name, err)
		}
	}
}

func TestCommands_ProductionSeedNeedsAdminPassword(t *testing.T) {
	dsn := testenv.EmptySQLite(t)
	env := []string{"RESAYIL_ENV=production", "RESAYIL_JWT_SECRET=" + strings.Repeat("k", 40), "RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_MYFATOORAH_TOKEN=t",
		"RESAYIL_WHATSAPP_TOKEN=t", "RESAYIL_WHATSAPP_PHONE_NUMBER_ID=1"}
	if out, err := runCmd(t, env, "migrate", "up"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	_, err := runCmd(t, env, "seed")
	if err == nil || !strings.HasPrefix(err.Error(), "RESAYIL_ADMIN_PASSWORD:") {
		t.Fatalf("want RESAYIL_ADMIN_PASSWORD error, got %v", err)
	}
}

func TestCommands_ProductionServeRefusesBehindSchema(t *testing.T) {
	dsn := testenv.EmptySQLite(t)
	env := []string{"RESAYIL_ENV=production", "RESAYIL_JWT_SECRET=" + strings.Repeat("k", 40), "RESAYIL_DB_DSN=" + dsn,
		"RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_PORTAL_ADDR=127.0.0.1:0", "RESAYIL_MYFATOORAH_TOKEN=t",
		"RESAYIL_WHATSAPP_TOKEN=t", "RESAYIL_WHATSAPP_PHONE_NUMBER_ID=1"}
	_, err := runCmd(t, env, "serve")
	if err == nil || !strings.Contains(err.Error(), "migrate up") {
		t.Fatalf("serve on an unmigrated production database must refuse, got %v", err)
	}
}
