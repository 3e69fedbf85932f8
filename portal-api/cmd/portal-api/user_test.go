package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/accountevents/accounteventssql"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/testenv"
)

const adminEmail = "admin@resayil.local"

// TestUserCommand_DisableEnable runs the operator commands end to end on
// both databases, with the account events going through the database
// (embedded mode) and through Redis.
func TestUserCommand_DisableEnable(t *testing.T) {
	for _, b := range testenv.Backends {
		for _, events := range []string{"database", "redis"} {
			t.Run(string(b)+"/"+events, func(t *testing.T) {
				t.Parallel()
				dsn := testenv.EmptySQLite(t)
				if b == testenv.MariaDBBackend {
					dsn = testenv.EmptyMariaDB(t)
				}
				env := []string{"RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_BCRYPT_COST=4"}
				for _, args := range [][]string{{"migrate", "up"}, {"seed"}} {
					if out, err := runCmd(t, env, args...); err != nil {
						t.Fatalf("%v: %v\n%s", args, err, out)
					}
				}
				db := openDB(t, dsn)
				var userID, accountID int64
				if err := db.SQL.QueryRow(`SELECT id, account_id FROM users WHERE email_normalized = ?`, adminEmail).Scan(&userID, &accountID); err != nil {
					t.Fatal(err)
				}
				now := time.Now().UTC()
				insertSession(t, db, "s-open", userID, nil, "")
				insertSession(t, db, "s-logged-out", userID, &now, "logout")

				var sub accountevents.Subscriber
				if events == "redis" {
					// The command publishes on the production channel (its
					// config has no channel prefix), so other tests may publish
					// there too: wait only for this user's events.
					r := testenv.Redis(t)
					env = append(env, "RESAYIL_REDIS_URL="+r.URL)
					sub = accounteventsredis.New(r.Client, accounteventsredis.Config{})
				} else {
					sub = accounteventssql.New(db.SQL, accounteventssql.Config{PollInterval: 20 * time.Millisecond})
				}
				got := subscribeUntilEnd(t, sub)
				waitEvent(t, got, accountevents.KindResync, 0, "")
				subject := fmt.Sprintf("user:%d", userID)

				out, err := runCmd(t, env, "user", "disable", "--email", "  ADMIN@Resayil.local ")
				if err != nil || !strings.Contains(out, "is now disabled") || !strings.Contains(out, "1 session(s) ended") {
					t.Fatalf("disable: %v\n%s", err, out)
				}
				if !isDisabled(t, db, userID) {
					t.Fatal("users.disabled_at is still NULL after disable")
				}
				wantSession(t, db, "s-open", "disabled")
				wantSession(t, db, "s-logged-out", "logout")
				wantAudit(t, db, "account.disable", accountID, 1)
				waitEvent(t, got, accountevents.KindAccountDisabled, accountID, subject)

				out, err = runCmd(t, env, "user", "disable", "--email", adminEmail)
				if err != nil || !strings.Contains(out, "is already disabled") {
					t.Fatalf("second disable: %v\n%s", err, out)
				}
				wantAudit(t, db, "account.disable", accountID, 2)
				waitEvent(t, got, accountevents.KindAccountDisabled, accountID, subject)

				out, err = runCmd(t, env, "user", "enable", "--email", adminEmail)
				if err != nil || !strings.Contains(out, "is now enabled") {
					t.Fatalf("enable: %v\n%s", err, out)
				}
				if isDisabled(t, db, userID) {
					t.Fatal("users.disabled_at is still set after enable")
				}
				wantSession(t, db, "s-open", "disabled") // ended sessions stay ended
				wantAudit(t, db, "account.enable", accountID, 1)
				waitEvent(t, got, accountevents.KindAccountEnabled, accountID, subject)
			})
		}
	}
}

func TestUserCommand_Errors(t *testing.T) {
	dsn := testenv.EmptySQLite(t)
	env := []string{"RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir()}
	if out, err := runCmd(t, env, "migrate", "up"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	cases := map[string]struct {
		args []string
		want string
	}{
		"unknown email":  {[]string{"user", "disable", "--email", "nobody@example.com"}, `no user has the e-mail address "nobody@example.com"`},
		"no email":       {[]string{"user", "enable"}, userUsage},
		"no subcommand":  {[]string{"user"}, userUsage},
		"bad subcommand": {[]string{"user", "delete", "--email", "a@b.c"}, `unknown user command "delete"`},
		"bad flag":       {[]string{"user", "disable", "--mail", "a@b.c"}, "flag provided but not defined"},
	}
	for name, tc := range cases {
		_, err := runCmd(t, env, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", name, err, tc.want)
		}
	}
	db := openDB(t, dsn)
	var n int
	if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM audit_log`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("audit rows after failed commands: %d, %v; want 0", n, err)
	}
}

func openDB(t *testing.T, dsn string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), dsn, database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func insertSession(t *testing.T, db *database.DB, id string, userID int64, revokedAt *time.Time, reason string) {
	t.Helper()
	now := time.Now().UTC()
	_, err := db.SQL.Exec(`INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, revoked_at, revoke_reason) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, userID, now, now, now.Add(time.Hour), revokedAt, reason)
	if err != nil {
		t.Fatal(err)
	}
}

func isDisabled(t *testing.T, db *database.DB, userID int64) bool {
	t.Helper()
	var n int
	if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM users WHERE id = ? AND disabled_at IS NOT NULL`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func wantSession(t *testing.T, db *database.DB, id, reason string) {
	t.Helper()
	var got string
	var revoked int
	if err := db.SQL.QueryRow(`SELECT revoke_reason, CASE WHEN revoked_at IS NULL THEN 0 ELSE 1 END FROM sessions WHERE id = ?`, id).Scan(&got, &revoked); err != nil {
		t.Fatal(err)
	}
	if got != reason || revoked != 1 {
		t.Fatalf("session %s: revoke_reason %q, revoked %v; want %q and revoked", id, got, revoked == 1, reason)
	}
}

func wantAudit(t *testing.T, db *database.DB, action string, accountID int64, n int) {
	t.Helper()
	var got int
	err := db.SQL.QueryRow(`SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND actor_user_id IS NULL AND action = ? AND target_type = 'account' AND target_id = ?
AND details LIKE ? AND details LIKE ?`,
		action, fmt.Sprint(accountID), `%"email":"`+adminEmail+`"%`, `%"reason":"user % from the command line"%`).Scan(&got)
	if err != nil || got != n {
		t.Fatalf("audit rows for %s: %d, %v; want %d", action, got, err, n)
	}
}

func subscribeUntilEnd(t *testing.T, sub accountevents.Subscriber) <-chan accountevents.Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan accountevents.Event, 100)
	done := make(chan struct{})
	go func() {
		_ = sub.Subscribe(ctx, func(ev accountevents.Event) {
			select {
			case got <- ev:
			case <-ctx.Done():
			}
		})
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return got
}

// waitEvent waits, within the gateway's 5 s, for an event of kind about
// account and subject, skipping any other.
func waitEvent(t *testing.T, got <-chan accountevents.Event, kind accountevents.Kind, account int64, subject string) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-got:
			if ev.Kind == kind && int64(ev.Account) == account && ev.Subject == subject {
				return
			}
		case <-timeout:
			t.Fatalf("no %s event for account %d (%s) within 5s", kind, account, subject)
		}
	}
}
