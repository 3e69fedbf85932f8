package authlog_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/authlog/authlogtest"
)

// Debian's fail2ban-regex, with the project's filter as each jail
// configures it, matches exactly the lines of the jail's kinds that Logger
// wrote, at the time they carry, and nothing else in the file: not the
// other jail's kinds, not a line without an address, not a forged line
// smuggled in through a subject, not other programs' lines.
func TestFail2banRegex_MatchesWhatLoggerWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(path, []byte("some other program's line 203.0.113.250\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := authlog.Open(path, authlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	l.Failure(authlog.KindAPIKey, "203.0.113.1", "sk-ab****wxyz")
	l.Failure(authlog.KindLogin, "203.0.113.2", "fatima@example.com")
	l.Failure(authlog.KindRefresh, "2001:db8::2", "user:7")
	l.Failure(authlog.KindResetCode, "::ffff:203.0.113.3", "+96512345678")
	l.Failure(authlog.KindInternalToken, "203.0.113.4", "/api/v1/internal/ip-banned")
	l.Failure(authlog.KindAPIKey, "2001:db8::1", "sk-x\n"+authlog.Line(time.Now(), authlog.KindAPIKey, "6.6.6.6", "forged"))
	l.Failure(authlog.KindLogin, "203.0.113.5", "x ip=6.6.6.6 subject=y")
	l.Failure(authlog.KindLogin, "", "no address: never banned")
	l.Failure(authlog.Kind("unknown"), "203.0.113.6", "a kind no jail counts")
	end := time.Now()

	want := map[string][]string{
		"resayil-gateway": {"203.0.113.1", "2001:db8::1"},
		"resayil-portal":  {"203.0.113.2", "2001:db8::2", "203.0.113.3", "203.0.113.4", "203.0.113.5"},
	}
	jails := authlogtest.Jails(t)
	if len(jails) != len(want) {
		t.Fatalf("jails %v, want %v", jails, want)
	}
	for jail, ips := range want {
		t.Run(jail, func(t *testing.T) {
			matches := authlogtest.Regex(t, path, jail)
			var got []string
			for _, m := range matches {
				got = append(got, m.IP)
				// fail2ban's row keeps whole seconds.
				if m.Time.Before(start.Truncate(time.Second)) || m.Time.After(end) {
					t.Errorf("%s read at %s, written between %s and %s", m.IP, m.Time, start, end)
				}
			}
			if !slices.Equal(got, ips) {
				t.Fatalf("fail2ban-regex matched %v, want %v", got, ips)
			}
		})
	}
}
