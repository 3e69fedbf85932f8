package api_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/myfatoorahsig"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

// securityHeaders are the headers every portal answer carries.
var securityHeaders = map[string]string{
	"X-Content-Type-Options":  "nosniff",
	"X-Frame-Options":         "DENY",
	"Content-Security-Policy": "frame-ancestors 'none'",
	"Referrer-Policy":         "strict-origin-when-cross-origin",
	"Cache-Control":           "no-store",
}

// wantSecurityHeaders fails the test unless h has every security header,
// and HSTS exactly when hsts.
func wantSecurityHeaders(t *testing.T, what string, h http.Header, hsts bool) {
	t.Helper()
	for k, v := range securityHeaders {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s is %q, want %q", what, k, got, v)
		}
	}
	got := h.Get("Strict-Transport-Security")
	if hsts && got != "max-age=31536000" {
		t.Errorf("%s: Strict-Transport-Security %q with an https public URL", what, got)
	}
	if !hsts && got != "" {
		t.Errorf("%s: Strict-Transport-Security %q with an http public URL", what, got)
	}
}

// raw sends req to the app as it is, without openapi.yaml's checks: for
// answers the contract does not describe (an oversized body, a CORS
// preflight, a broken database).
func raw(t *testing.T, h *apitest.Harness, req *http.Request) *http.Response {
	t.Helper()
	res, err := h.App.HTTP.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// serve runs the harness's app on a loopback socket until the test ends
// and returns its base URL.
func serve(t *testing.T, h *apitest.Harness) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = h.App.HTTP.Listener(ln) }()
	t.Cleanup(func() { _ = h.App.HTTP.Shutdown() })
	return "http://" + ln.Addr().String()
}

// TestSecurityHeaders: success, error, redirect, 404, 413, 415, 500 and
// preflight answers all carry the security headers.
func TestSecurityHeaders(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, _ := h.SignUp(t, "headers")
		for what, res := range map[string]*apitest.Response{
			"public GET":        h.Do(t, get("/api/v1/plans")).Want(t, http.StatusOK),
			"authenticated GET": c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK),
			"login":             h.NewClient().Do(t, login(c.Email, apitest.DefaultPassword, false)).Want(t, http.StatusOK),
			"401":               h.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized),
			"400":               h.Do(t, post("/api/v1/auth/register", map[string]any{})).Want(t, http.StatusBadRequest),
			"404":               h.Do(t, get("/api/v1/nothing-here")).Want(t, http.StatusNotFound),
			"redirect":          h.Do(t, get("/api/v1/billing/myfatoorah/return")).Want(t, http.StatusFound),
			"healthz":           h.Do(t, get("/healthz")).Want(t, http.StatusOK),
		} {
			wantSecurityHeaders(t, what, res.Header, false)
		}

		// A body over the limit is refused by fasthttp before any
		// middleware runs: only the error handler sees it. (app.Test
		// returns fasthttp's error instead of the answer, so this one goes
		// over a real socket.)
		res := oversized(t, serve(t, h), "/api/v1/auth/register", 2<<20)
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("2 MiB body: %d", res.StatusCode)
		}
		wantSecurityHeaders(t, "413", res.Header, false)

		pre := httptest.NewRequest("OPTIONS", "/api/v1/me", nil)
		pre.Header.Set("Origin", "http://localhost:5173")
		pre.Header.Set("Access-Control-Request-Method", "GET")
		res = raw(t, h, pre)
		if res.StatusCode != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") == "" {
			t.Fatalf("preflight: %d %v", res.StatusCode, res.Header)
		}
		wantSecurityHeaders(t, "preflight", res.Header, false)
	})
}

func TestSecurityHeaders_InternalError(t *testing.T) {
	h := harness(t, testenv.SQLiteBackend)
	_ = h.App.DB.Close() // every query now fails: 500
	res := raw(t, h, httptest.NewRequest("GET", "/api/v1/plans", nil))
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("plans on a closed database: %d", res.StatusCode)
	}
	wantSecurityHeaders(t, "500", res.Header, false)
}

// TestSecurityHeaders_HSTS: Strict-Transport-Security only when the
// public URL is https, on successes and errors alike.
func TestSecurityHeaders_HSTS(t *testing.T) {
	for _, tc := range []struct {
		public string
		hsts   bool
	}{{"https://portal.example.com", true}, {"HTTPS://portal.example.com", true}, {"http://localhost:8081", false}} {
		t.Run(tc.public, func(t *testing.T) {
			t.Parallel()
			h := harness(t, testenv.SQLiteBackend, apitest.Options{Env: []string{"RESAYIL_PUBLIC_URL=" + tc.public}})
			wantSecurityHeaders(t, "200", h.Do(t, get("/api/v1/plans")).Want(t, http.StatusOK).Header, tc.hsts)
			wantSecurityHeaders(t, "404", h.Do(t, get("/nothing")).Want(t, http.StatusNotFound).Header, tc.hsts)
			wantSecurityHeaders(t, "401", h.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized).Header, tc.hsts)
		})
	}
}

// registration is a valid register body for a fresh e-mail.
func registration(email string) string {
	return `{"name":"Test User","email":"` + email + `","phone":"+96512345678","password":"` + apitest.DefaultPassword + `"}`
}

// withType is a request whose body is sent with the given Content-Type
// ("" sends the header empty).
func withType(method, path, contentType, body string) apitest.Request {
	return apitest.Request{Method: method, Path: path, Body: body, Header: map[string]string{"Content-Type": contentType}}
}

// TestJSONContentType: a JSON route refuses a body not sent as
// application/json (415, nothing done) and accepts parameters and any
// case; the webhook takes what MyFatoorah sends.
func TestJSONContentType(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		email := apitest.UniqueEmail("ctype")
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "", "application/jsonx", "json"} {
			res := s.Do(t, withType("POST", "/api/v1/auth/register", ct, registration(email))).Want(t, http.StatusUnsupportedMediaType)
			if e := res.Error(t); e.Code != "unsupported_media_type" || !strings.Contains(e.Message, "application/json") {
				t.Errorf("Content-Type %q: %+v", ct, e)
			}
			wantSecurityHeaders(t, "415", res.Header, true)
		}
		if n := s.count(t, "SELECT COUNT(*) FROM users WHERE email = ?", email); n != 0 {
			t.Fatalf("a refused body registered %d user(s)", n)
		}
		// No Content-Type header at all.
		req := httptest.NewRequest("POST", "/api/v1/auth/register", strings.NewReader(registration(email)))
		if res := raw(t, s.Harness, req); res.StatusCode != http.StatusUnsupportedMediaType {
			t.Fatalf("body without Content-Type: %d", res.StatusCode)
		}
		// No body: not a media-type question; bind says what is missing.
		s.Do(t, withType("POST", "/api/v1/auth/register", "text/plain", "")).Want(t, http.StatusBadRequest)

		s.Do(t, withType("POST", "/api/v1/auth/register", "Application/JSON; charset=UTF-8", registration(email))).Want(t, http.StatusCreated)

		// Authenticated routes too, after authentication.
		c := s.NewClient()
		c.Login(t, email, apitest.DefaultPassword, false)
		checkout := `{"kind":"topup","pack_id":` + strconv.FormatInt(s.packs["topup-5k"], 10) + `}`
		c.Do(t, withType("POST", "/api/v1/billing/checkout", "text/plain", checkout)).Want(t, http.StatusUnsupportedMediaType)
		c.Do(t, withType("PATCH", "/api/v1/me", "text/plain;charset=utf-8", `{"name":"Other"}`)).Want(t, http.StatusUnsupportedMediaType)
		if n := s.count(t, "SELECT COUNT(*) FROM payments"); n != 0 {
			t.Fatalf("a refused checkout made %d payment(s)", n)
		}
		c.Do(t, withType("POST", "/api/v1/billing/checkout", "application/json; charset=utf-8", checkout)).Want(t, http.StatusCreated)

		// The webhook is exempt: a signed delivery under text/plain is
		// applied.
		p := s.topup(t, c, "topup-15k")
		s.pay(t, p.invoice)
		wr := s.webhook(t, p.invoice)
		s.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/webhooks/myfatoorah", Body: wr.Body, Header: map[string]string{
			"Content-Type": "text/plain", myfatoorahsig.Header: wr.Header.Get(myfatoorahsig.Header),
		}}).Want(t, http.StatusOK)
		if st := s.paymentStatus(t, p.PaymentID); st != "paid" {
			t.Errorf("webhook under text/plain: payment %s", st)
		}
	})
}

// TestReturnThrottle: made-up paymentIds on the unauthenticated return
// cost one GetPaymentStatus call each, up to the client IP's limit; then
// the browser is still redirected (pending) without a call. An id found
// unknown is remembered: asking again, from anywhere, costs nothing until
// it expires.
func TestReturnThrottle(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			s := newShop(t, b, "RESAYIL_MYFATOORAH_RETURN_LIMIT=3")
			attacker := apitest.RandomIP()
			calls := s.mf.StatusCalls()
			spent := func() int { return s.mf.StatusCalls() - calls }
			for i := range 3 {
				if q := s.browseFrom(t, attacker, "made-up-"+strconv.Itoa(i)); q.Get("status") != "failed" || q.Has("payment") {
					t.Fatalf("made-up id %d: %v", i, q)
				}
			}
			if spent() != 3 {
				t.Fatalf("3 made-up ids cost %d calls", spent())
			}
			// Over the limit: a redirect, pending, and no call.
			for i := range 5 {
				q := s.browseFrom(t, attacker, "made-up-more-"+strconv.Itoa(i))
				if q.Get("status") != "pending" || q.Has("payment") {
					t.Fatalf("throttled return: %v", q)
				}
			}
			if spent() != 3 {
				t.Fatalf("throttled returns called MyFatoorah: %d calls", spent())
			}
			// A remembered unknown id costs nothing, from any address.
			for range 3 {
				if q := s.browse(t, "made-up-0"); q.Get("status") != "failed" {
					t.Fatalf("remembered id: %v", q)
				}
			}
			if spent() != 3 {
				t.Fatalf("a remembered unknown id was asked again: %d calls", spent())
			}

			// A real buyer from another address is confirmed at once.
			c, _ := s.SignUp(t, "returning")
			p := s.topup(t, c, "topup-5k")
			paymentID := s.pay(t, p.invoice)
			if q := s.browse(t, paymentID); q.Get("status") != "paid" || q.Get("payment") != strconv.FormatInt(p.PaymentID, 10) {
				t.Fatalf("real return: %v", q)
			}
			// The throttled address's own real return is pending (asked
			// nothing), and the payment is confirmed later by the re-check.
			p2 := s.topup(t, c, "topup-15k")
			paymentID2 := s.pay(t, p2.invoice)
			before := s.mf.StatusCalls()
			if q := s.browseFrom(t, attacker, paymentID2); q.Get("status") != "pending" {
				t.Fatalf("throttled real return: %v", q)
			}
			if s.mf.StatusCalls() != before {
				t.Fatal("a throttled real return asked MyFatoorah")
			}
			s.Clock.Advance(11 * time.Minute)
			s.runJobs(t)
			if st := s.paymentStatus(t, p2.PaymentID); st != "paid" {
				t.Fatalf("throttled payment after the re-check: %s", st)
			}

			// After the window the address may ask again, and the memory
			// of unknown ids has expired: made-up-0 costs a call again.
			before = s.mf.StatusCalls()
			if q := s.browseFrom(t, attacker, "made-up-0"); q.Get("status") != "failed" {
				t.Fatalf("after the window: %v", q)
			}
			if got := s.mf.StatusCalls() - before; got != 1 {
				t.Fatalf("expired unknown id: %d calls, want 1", got)
			}
		})
	}
}

// oversized announces a body of size bytes and sends none of it: fasthttp
// refuses on the Content-Length alone. (Sending the body races the
// server's close: the client's write can fail with a reset before it reads
// the answer.)
func oversized(t *testing.T, base, path string, size int) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", path, size); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res
}
