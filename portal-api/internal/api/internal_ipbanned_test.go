package api_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

// internalTestToken is the RESAYIL_INTERNAL_TOKEN of these tests.
const internalTestToken = "internal-token-internal-token-internal-token"

func ipBanned(token string, body any) apitest.Request {
	return apitest.Request{Method: "POST", Path: "/api/v1/internal/ip-banned", Token: token, Body: body}
}

type ipBannedResponse struct {
	IP        string    `json:"ip"`
	Jail      string    `json:"jail"`
	Alerted   bool      `json:"alerted"`
	AlertedAt time.Time `json:"alerted_at"`
}

func ipBannedAlerts(t *testing.T, h *apitest.Harness) []string {
	t.Helper()
	rows, err := h.DB.SQL.Query(`SELECT payload FROM notifications WHERE event = 'ip_banned' AND audience = 'admins' AND locale = 'en' AND status = 'pending' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestIPBanned(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(t *testing.T, opts ...apitest.Options) *apitest.Harness) {
		t.Run("off403", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			res := h.Do(t, ipBanned(internalTestToken, map[string]any{"ip": "203.0.113.7", "jail": "resayil-portal"})).Want(t, http.StatusForbidden)
			if e := res.Error(t); e.Code != "forbidden" || !strings.Contains(e.Message, "RESAYIL_INTERNAL_TOKEN") {
				t.Errorf("error %+v", e)
			}
			if got := ipBannedAlerts(t, h); len(got) != 0 {
				t.Fatalf("alerts %v", got)
			}
		})

		t.Run("alertOncePerHour200", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, apitest.Options{Env: []string{"RESAYIL_INTERNAL_TOKEN=" + internalTestToken}})
			t0 := h.Clock.Now()
			var got ipBannedResponse
			h.Do(t, ipBanned(internalTestToken, map[string]any{"ip": "203.0.113.7", "jail": "resayil-portal"})).Want(t, http.StatusOK).JSON(t, &got)
			if !got.Alerted || got.IP != "203.0.113.7" || got.Jail != "resayil-portal" || !got.AlertedAt.Equal(t0.Truncate(time.Microsecond)) {
				t.Fatalf("first ban: %+v", got)
			}
			h.Clock.Advance(59 * time.Minute)
			h.Do(t, ipBanned(internalTestToken, map[string]any{"ip": "::ffff:203.0.113.7", "jail": "resayil-gateway"})).Want(t, http.StatusOK).JSON(t, &got)
			if got.Alerted || got.IP != "203.0.113.7" || !got.AlertedAt.Equal(t0.Truncate(time.Microsecond)) {
				t.Fatalf("ban within the hour: %+v", got)
			}
			h.Clock.Advance(time.Minute)
			h.Do(t, ipBanned(internalTestToken, map[string]any{"ip": "203.0.113.7", "jail": "resayil-gateway"})).Want(t, http.StatusOK).JSON(t, &got)
			if !got.Alerted {
				t.Fatalf("ban an hour after the alert: %+v", got)
			}
			want := []string{`{"params":["203.0.113.7","resayil-portal"]}`, `{"params":["203.0.113.7","resayil-gateway"]}`}
			if got := ipBannedAlerts(t, h); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("alerts %v, want %v", got, want)
			}
		})

		t.Run("token401", func(t *testing.T) {
			t.Parallel()
			log := filepath.Join(t.TempDir(), "auth.log")
			h := newHarness(t, apitest.Options{Env: []string{"RESAYIL_INTERNAL_TOKEN=" + internalTestToken, "RESAYIL_AUTH_FAILURE_LOG=" + log}})
			body := map[string]any{"ip": "203.0.113.7", "jail": "resayil-portal"}
			for _, token := range []string{"", internalTestToken + "x", internalTestToken[:len(internalTestToken)-1], strings.ToUpper(internalTestToken)} {
				r := ipBanned(token, body)
				r.Header = map[string]string{"X-Forwarded-For": "198.51.100.44"}
				res := h.Do(t, r).Want(t, http.StatusUnauthorized)
				if e := res.Error(t); e.Code != "unauthorized" || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("token %q: %+v, WWW-Authenticate %q", token, e, res.Header.Get("WWW-Authenticate"))
				}
			}
			// A session's access token is not the internal token.
			c, _ := h.SignUp(t, "Internal")
			c.Do(t, ipBanned("", body)).Want(t, http.StatusUnauthorized)
			if got := ipBannedAlerts(t, h); len(got) != 0 {
				t.Fatalf("alerts %v", got)
			}
			// Each wrong token presented (not the missing one) is an auth
			// failure from the client's address.
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			if len(lines) != 4 {
				t.Fatalf("auth-failure log:\n%s", b)
			}
			for i, l := range lines[:3] {
				if !strings.HasSuffix(l, " resayil-auth-failure kind=internal_token ip=198.51.100.44 subject=%2Fapi%2Fv1%2Finternal%2Fip-banned") {
					t.Errorf("line %d: %q", i, l)
				}
			}
			if !strings.Contains(lines[3], " kind=internal_token ip="+c.IP+" ") {
				t.Errorf("line 3: %q", lines[3])
			}
		})

		t.Run("invalid400", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, apitest.Options{Env: []string{"RESAYIL_INTERNAL_TOKEN=" + internalTestToken}})
			cases := []struct {
				body   any
				fields []string
			}{
				{map[string]any{"ip": "203.0.113.300", "jail": "resayil-portal"}, []string{"ip"}},
				{map[string]any{"ip": "203.0.113.7"}, []string{"jail"}},
				{map[string]any{"ip": "example.com", "jail": "a jail"}, []string{"ip", "jail"}},
				{map[string]any{"ip": "203.0.113.7", "jail": strings.Repeat("j", 65)}, []string{"jail"}},
				{map[string]any{"ip": 7, "jail": "resayil-portal"}, []string{"ip"}},
			}
			for _, tc := range cases {
				res := h.Do(t, ipBanned(internalTestToken, tc.body)).Want(t, http.StatusBadRequest)
				var names []string
				for _, f := range res.Error(t).Fields {
					names = append(names, f.Field)
				}
				if strings.Join(names, ",") != strings.Join(tc.fields, ",") {
					t.Errorf("%v: fields %v, want %v", tc.body, names, tc.fields)
				}
			}
			if got := ipBannedAlerts(t, h); len(got) != 0 {
				t.Fatalf("alerts %v", got)
			}
		})
	})
}
