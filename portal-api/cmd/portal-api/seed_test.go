package main

import (
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

// TestCommands_SeedAdminPhone: RESAYIL_ADMIN_PHONE must be E.164 and not
// the placeholder; without it the admin gets resayil.PlaceholderPhone and
// no consent, and a later seed with it gives the admin the number and the
// consent, so admin alerts reach them.
func TestCommands_SeedAdminPhone(t *testing.T) {
	for _, bad := range []string{"12345678", "+965 1234 5678", resayil.PlaceholderPhone} {
		_, err := runCmd(t, []string{"RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_ADMIN_PHONE=" + bad}, "seed")
		if err == nil || !strings.HasPrefix(err.Error(), "RESAYIL_ADMIN_PHONE:") {
			t.Errorf("RESAYIL_ADMIN_PHONE=%s: want an error naming it, got %v", bad, err)
		}
	}

	dsn := testenv.EmptySQLite(t)
	env := []string{"RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_BCRYPT_COST=4"}
	if out, err := runCmd(t, env, "migrate", "up"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	admin := func() (phone string, optIn bool) {
		t.Helper()
		db, err := database.Open(t.Context(), dsn, database.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.SQL.QueryRow(`SELECT phone, whatsapp_opt_in FROM users WHERE email = 'admin@resayil.local'`).Scan(&phone, &optIn); err != nil {
			t.Fatal(err)
		}
		return phone, optIn
	}
	if out, err := runCmd(t, env, "seed"); err != nil || !strings.Contains(out, "admin created: true") {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	if phone, in := admin(); phone != resayil.PlaceholderPhone || in {
		t.Errorf("admin without RESAYIL_ADMIN_PHONE: %s, opted in %v", phone, in)
	}
	out, err := runCmd(t, append(env, "RESAYIL_ADMIN_PHONE=+96512345678"), "seed")
	if err != nil || !strings.Contains(out, "admin phone set to +96512345678") {
		t.Fatalf("seed with RESAYIL_ADMIN_PHONE: %v\n%s", err, out)
	}
	if phone, in := admin(); phone != "+96512345678" || !in {
		t.Errorf("admin after RESAYIL_ADMIN_PHONE: %s, opted in %v", phone, in)
	}
}
