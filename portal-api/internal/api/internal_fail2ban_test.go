package api_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/authlog/authlogtest"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

// banReports sits in front of the portal's listener and hands the test
// each answer the ip-banned endpoint gives: the signal that fail2ban's
// action has run.
type banReports struct {
	answers chan banAnswer
}

type banAnswer struct {
	status int
	body   ipBannedResponse
}

func (b *banReports) wait(t *testing.T) banAnswer {
	t.Helper()
	select {
	case a := <-b.answers:
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("fail2ban's action did not call POST /api/v1/internal/ip-banned within 30 s")
		return banAnswer{}
	}
}

// servePortal serves the harness's app on a loopback listener, behind a
// proxy that reports the endpoint's answers, and returns the proxy's URL.
func servePortal(t *testing.T, h *apitest.Harness) (string, *banReports) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.App.HTTP.Listener(ln) }()
	t.Cleanup(func() { _ = h.App.HTTP.Shutdown() })
	target, _ := url.Parse("http://" + ln.Addr().String())
	reports := &banReports{answers: make(chan banAnswer, 16)}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(res *http.Response) error {
		if res.Request.URL.Path != "/api/v1/internal/ip-banned" {
			return nil
		}
		b, err := io.ReadAll(res.Body)
		if err != nil {
			return err
		}
		res.Body = io.NopCloser(strings.NewReader(string(b)))
		a := banAnswer{status: res.StatusCode}
		_ = json.Unmarshal(b, &a.body)
		reports.answers <- a
		return nil
	}
	front := &http.Server{Handler: proxy, ReadHeaderTimeout: 5 * time.Second}
	fln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = front.Serve(fln) }()
	t.Cleanup(func() { _ = front.Close() })
	return "http://" + fln.Addr().String(), reports
}

// A real fail2ban-server, in the foreground with the project's filter,
// jails and resayil-notify action (its http variant, curl with the token
// from a header file; no firewall action), watches the auth-failure log
// portal-api writes. One address failing to log in as often as the portal
// jail's maxretry is banned once, and the action's call to the real
// endpoint writes exactly one admin alert. Banned again within the hour,
// after an unban and as many failures again, it is reported again and
// alerts no one. Another address's failures meanwhile, fewer than
// maxretry, ban nothing.
func TestFail2ban_BanAlertsAdminsOnce(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(t *testing.T, opts ...apitest.Options) *apitest.Harness) {
		dir := t.TempDir()
		logPath := filepath.Join(dir, "auth-failures.log")
		h := newHarness(t, apitest.Options{Env: []string{
			"RESAYIL_AUTH_FAILURE_LOG=" + logPath, "RESAYIL_INTERNAL_TOKEN=" + internalTestToken,
			// The app's own throttle would answer 429 (no password
			// checked, no line) before the second round.
			"RESAYIL_LOGIN_IP_LIMIT=1000",
		}})
		base, reports := servePortal(t, h)
		header := filepath.Join(dir, "resayil-internal.header")
		if err := os.WriteFile(header, []byte("Authorization: Bearer "+internalTestToken+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		f2b := authlogtest.StartServer(t, authlogtest.ServerOptions{LogPath: logPath, URL: base, HeaderFile: header})
		jail := authlogtest.Jails(t)["resayil-portal"]
		if jail.MaxRetry < 2 {
			t.Fatalf("resayil-portal's maxretry %d", jail.MaxRetry)
		}

		const attacker, bystander = "198.51.100.23", "198.51.100.99"
		fail := func(ip string, n int) {
			for range n {
				c := h.NewClient()
				c.IP = ip
				c.Do(t, login(apitest.UniqueEmail("f2b"), "wrong-password-1", false)).Want(t, http.StatusUnauthorized)
			}
		}
		found := func(ip string) string { return "[resayil-portal] Found " + ip }
		ban := "[resayil-portal] Ban " + attacker

		// One short of maxretry: counted, not banned.
		fail(attacker, jail.MaxRetry-1)
		fail(bystander, jail.MaxRetry-1)
		f2b.WaitLog(t, found(attacker), jail.MaxRetry-1, 30*time.Second)
		f2b.WaitLog(t, found(bystander), jail.MaxRetry-1, 30*time.Second)
		if st := f2b.Status(t, "resayil-portal"); st.TotalBanned != 0 || st.TotalFailed != 2*(jail.MaxRetry-1) {
			t.Fatalf("after %d failures from each address: %+v", jail.MaxRetry-1, st)
		}

		// The maxretry-th: one ban, one call, one alert.
		fail(attacker, 1)
		f2b.WaitLog(t, ban, 1, 30*time.Second)
		first := reports.wait(t)
		if first.status != http.StatusOK || !first.body.Alerted || first.body.IP != attacker || first.body.Jail != "resayil-portal" {
			t.Fatalf("the action's call: %+v", first)
		}
		if got := ipBannedAlerts(t, h); len(got) != 1 || got[0] != `{"params":["`+attacker+`","resayil-portal"]}` {
			t.Fatalf("alerts after the ban: %v", got)
		}
		if st := f2b.Status(t, "resayil-portal"); st.TotalBanned != 1 || !slices.Equal(st.Banned, []string{attacker}) {
			t.Fatalf("after the ban: %+v", st)
		}

		// Unbanned, and banned again within the hour: reported, no alert.
		f2b.Client(t, "set", "resayil-portal", "unbanip", attacker)
		h.Clock.Advance(20 * time.Minute)
		fail(attacker, jail.MaxRetry)
		f2b.WaitLog(t, ban, 2, 30*time.Second)
		second := reports.wait(t)
		if second.status != http.StatusOK || second.body.Alerted || !second.body.AlertedAt.Equal(first.body.AlertedAt) {
			t.Fatalf("the second ban's call: %+v (first %+v)", second, first)
		}
		if got := ipBannedAlerts(t, h); len(got) != 1 {
			t.Fatalf("alerts after the second ban: %v", got)
		}
		st := f2b.Status(t, "resayil-portal")
		if st.TotalBanned != 2 || !slices.Equal(st.Banned, []string{attacker}) {
			t.Fatalf("after the second ban: %+v", st)
		}
		if n := f2b.Count("Ban " + bystander); n != 0 {
			t.Fatalf("the bystander was banned %d time(s)", n)
		}
		select {
		case a := <-reports.answers:
			t.Fatalf("an extra call to the endpoint: %+v", a)
		default:
		}
	})
}
