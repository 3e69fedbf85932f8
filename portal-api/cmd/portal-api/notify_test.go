package main

import (
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/testenv"
)

// `portal-api notify ip-banned`, fail2ban's action on a host install,
// writes one admin alert per address per hour, and refuses bad input
// naming the flag.
func TestNotifyIPBanned(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, dsn := testenv.Open(t, b)
			env := []string{"RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_BCRYPT_COST=4"}

			out, err := runCmd(t, env, "notify", "ip-banned", "--ip", "203.0.113.7", "--jail", "resayil-portal")
			if err != nil || !strings.Contains(out, "admins alerted: 203.0.113.7 banned by resayil-portal") {
				t.Fatalf("first ban: %v\n%s", err, out)
			}
			out, err = runCmd(t, env, "notify", "ip-banned", "--ip", "::ffff:203.0.113.7", "--jail", "resayil-gateway")
			if err != nil || !strings.Contains(out, "no new alert: 203.0.113.7 was alerted at ") {
				t.Fatalf("second ban within the hour: %v\n%s", err, out)
			}
			var n int
			var payload string
			if err := db.SQL.QueryRow(`SELECT COUNT(*), MAX(payload) FROM notifications WHERE event = 'ip_banned' AND audience = 'admins'`).Scan(&n, &payload); err != nil {
				t.Fatal(err)
			}
			if n != 1 || payload != `{"params":["203.0.113.7","resayil-portal"]}` {
				t.Fatalf("%d alert(s), payload %s", n, payload)
			}

			for _, tc := range []struct {
				args []string
				want string
			}{
				{[]string{"notify"}, "usage: portal-api notify ip-banned"},
				{[]string{"notify", "ip-unbanned"}, "usage: portal-api notify ip-banned"},
				{[]string{"notify", "ip-banned", "--ip", "203.0.113.300", "--jail", "resayil-portal"}, "--ip must be an IPv4 or IPv6 address"},
				{[]string{"notify", "ip-banned", "--ip", "203.0.113.8"}, "--jail must be a fail2ban jail name"},
				{[]string{"notify", "ip-banned", "--ip", "203.0.113.8", "--jail", "x", "extra"}, `unexpected argument "extra"`},
			} {
				if out, err := runCmd(t, env, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%v: %v (want %q)\n%s", tc.args, err, tc.want, out)
				}
			}
		})
	}
}

// A short RESAYIL_INTERNAL_TOKEN, or an auth-failure log that cannot be
// opened, stops serve with an error naming the variable.
func TestServe_InternalTokenAndAuthFailureLog(t *testing.T) {
	dsn := testenv.EmptySQLite(t)
	base := []string{"RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_BCRYPT_COST=4"}
	cases := map[string][]string{
		"RESAYIL_INTERNAL_TOKEN:":   {"RESAYIL_INTERNAL_TOKEN=" + strings.Repeat("t", 31)},
		"RESAYIL_AUTH_FAILURE_LOG:": {"RESAYIL_AUTH_FAILURE_LOG=" + t.TempDir() + "/missing/auth.log"},
	}
	for want, env := range cases {
		if _, err := runCmd(t, append(append([]string(nil), base...), env...), "serve"); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%v: %v, want an error starting with %s", env, err, want)
		}
	}
}
