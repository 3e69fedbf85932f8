package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/authlog/authlogtest"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

// authLine is an auth-failure line without its time.
type authLine struct{ kind, ip, subject string }

func readAuthLog(t *testing.T, path string) []authLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []authLine
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if l == "" {
			continue
		}
		f := strings.Split(l, " ")
		if len(f) != 5 || f[1] != authlog.Prefix {
			t.Fatalf("not an auth-failure line: %q", l)
		}
		at, err := time.Parse(time.RFC3339Nano, f[0])
		if err != nil || time.Since(at) > time.Minute || time.Until(at) > time.Second {
			t.Fatalf("line %q: time %v %v, want the wall clock's", l, at, err)
		}
		out = append(out, authLine{strings.TrimPrefix(f[2], "kind="), strings.TrimPrefix(f[3], "ip="), strings.TrimPrefix(f[4], "subject=")})
	}
	return out
}

// portal-api writes one auth-failure line per wrong password (login and
// password change), unknown e-mail, unknown or reused refresh token,
// refused reset code and wrong internal token, from the client's address, and none for what is
// not a failed authentication (a success, a request without credentials,
// a malformed e-mail, a refresh within the grace window). Debian's
// fail2ban-regex, with the portal jail's filter, counts exactly those
// lines, and with the gateway jail's none of them.
func TestAuthFailureLog_Portal(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(t *testing.T, opts ...apitest.Options) *apitest.Harness) {
		path := filepath.Join(t.TempDir(), "auth.log")
		h := newHarness(t, apitest.Options{Env: []string{"RESAYIL_AUTH_FAILURE_LOG=" + path, "RESAYIL_INTERNAL_TOKEN=" + internalTestToken,
			"RESAYIL_PASSWORD_RESET_ANSWER_TIME=0s"}})

		c := h.NewClient()
		c.IP = "203.0.113.10"
		email := apitest.UniqueEmail("authlog")
		u := c.Register(t, email)
		c.Do(t, login(email, "not-the-password-1", false)).Want(t, http.StatusUnauthorized)
		c.Do(t, login("nobody-"+email, apitest.DefaultPassword, false)).Want(t, http.StatusUnauthorized)
		c.Do(t, login("námé@example.com", apitest.DefaultPassword, false)).Want(t, http.StatusBadRequest)
		c.Login(t, email, apitest.DefaultPassword, false)

		// A wrong current password at a password change, from elsewhere.
		c.IP = "2001:db8::10"
		c.Do(t, post("/api/v1/me/password", map[string]any{"current_password": "wrong-current-9", "new_password": "another-long-pass-77"})).
			Want(t, http.StatusBadRequest)

		// Refresh: the token works; presented again within the grace
		// window it is answered; after it, it is reuse.
		stolen := c.Refresh
		c.Do(t, refresh()).Want(t, http.StatusOK)
		thief := h.NewClient()
		thief.IP = "198.51.100.10"
		cookie := []*http.Cookie{{Name: stolen.Name, Value: stolen.Value}}
		thief.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Cookies: cookie}).Want(t, http.StatusOK)
		h.Clock.Advance(time.Minute)
		thief.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Cookies: cookie}).Want(t, http.StatusUnauthorized)
		thief.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Cookies: []*http.Cookie{{Name: stolen.Name, Value: "made-up"}}}).
			Want(t, http.StatusUnauthorized)
		thief.Do(t, refresh()).Want(t, http.StatusUnauthorized) // no cookie: no credential

		thief.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/internal/ip-banned", Token: "guess", Body: map[string]any{"ip": "192.0.2.1", "jail": "x"},
			Header: map[string]string{"X-Forwarded-For": thief.IP}}).Want(t, http.StatusUnauthorized)
		// A reset code for an account no one has: refused like a wrong one.
		thief.Do(t, confirmReset(map[string]any{"email": "nobody-" + email}, "123456", "another-long-pass-77")).Want(t, http.StatusBadRequest)

		want := []authLine{
			{"login", "203.0.113.10", strings.ToLower(email)},
			{"login", "203.0.113.10", "nobody-" + strings.ToLower(email)},
			{"login", "2001:db8::10", email},
			{"refresh", "198.51.100.10", "user:" + strconv.FormatInt(u.ID, 10)},
			{"refresh", "198.51.100.10", "-"},
			{"internal_token", "198.51.100.10", "%2Fapi%2Fv1%2Finternal%2Fip-banned"},
			{"reset_code", "198.51.100.10", "unknown_account"},
		}
		got := readAuthLog(t, path)
		if !slices.Equal(got, want) {
			t.Fatalf("auth-failure log:\n got %q\nwant %q", got, want)
		}

		// The file also holds the gateway's lines and other text; fail2ban
		// counts each jail's own.
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(authlog.Line(time.Now(), authlog.KindAPIKey, "192.0.2.77", "sk-ab****wxyz") + "an unrelated line from 192.0.2.78\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			t.Fatal(err)
		}
		var portal []string
		for _, m := range authlogtest.Regex(t, path, "resayil-portal") {
			portal = append(portal, m.IP)
		}
		wantIPs := []string{"203.0.113.10", "203.0.113.10", "2001:db8::10", "198.51.100.10", "198.51.100.10", "198.51.100.10", "198.51.100.10"}
		if !slices.Equal(portal, wantIPs) {
			t.Fatalf("fail2ban-regex (resayil-portal) matched %v, want %v", portal, wantIPs)
		}
		gateway := authlogtest.Regex(t, path, "resayil-gateway")
		if len(gateway) != 1 || gateway[0].IP != "192.0.2.77" {
			t.Fatalf("fail2ban-regex (resayil-gateway) matched %v, want only the gateway's line", gateway)
		}
	})
}
