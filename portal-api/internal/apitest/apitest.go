// Package apitest runs portal-api's HTTP tests through the real program:
// the Fiber app that app.New builds, on a fresh SQLite or MariaDB database,
// with a clock the test moves by hand. Every request a test makes, and every
// response it gets, is checked against openapi.yaml, so a test cannot pass
// while the contract says something else.
package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/apikey"
	"github.com/resayil/portal/portal-api/internal/app"
)

// JWTSecret signs the access tokens of test apps.
const JWTSecret = "apitest-secret-apitest-secret-apitest-secret"

// Clock is a clock a test advances by hand, so expiry is tested without
// sleeping.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at a fixed instant with microseconds, as MySQL keeps them.
func NewClock() *Clock {
	return &Clock{now: time.Date(2025, 3, 1, 9, 0, 0, 123456000, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Options change the program a Harness builds.
type Options struct {
	// Env is added to the environment (RESAYIL_… variables).
	Env []string
	// Events receives key revocations.
	Events apikey.EventPublisher
	// Clock is the program's clock; nil means a fresh NewClock. Tests that
	// start fakes sharing the clock pass their own.
	Clock *Clock
	// HashGate is the program's password-hashing gate; nil means one built
	// from the environment. A test passes its own to fill it.
	HashGate *account.HashGate
}

// Harness is one running portal-api and its database.
type Harness struct {
	App   *app.App
	Clock *Clock
	// DB is a second connection to the app's database, for reading tables.
	DB *database.DB
}

// ModelsFile is the catalog shipped in config/models.yaml, the gateway's
// default (a relative RESAYIL_MODELS_FILE would be read from the test's
// folder).
func ModelsFile() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "config", "models.yaml")
}

// New builds portal-api on db, a fresh migrated database whose DSN is dsn
// (testenv.Open gives both; this package does not import testenv, which
// only _test files may), in development mode with bcrypt cost 4, trusting
// 0.0.0.0 (the peer of app.Test) as a proxy so that each Client can bring
// its own address in X-Forwarded-For. Registration and the hashing gate get
// generous limits, since suites register many users, in parallel, and some
// from one address; the login limits stay the defaults. Options.Env comes
// after these, so a test can set its own.
func New(t testing.TB, db *database.DB, dsn string, opts ...Options) *Harness {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	env := append([]string{
		"RESAYIL_DB_DSN=" + dsn, "RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_BCRYPT_COST=4",
		"RESAYIL_JWT_SECRET=" + JWTSecret, "RESAYIL_TRUSTED_PROXIES=0.0.0.0",
		"RESAYIL_REGISTER_LIMIT=100000", "RESAYIL_HASH_CONCURRENCY=64", "RESAYIL_HASH_WAIT=1m",
		"RESAYIL_MODELS_FILE=" + ModelsFile(),
	}, o.Env...)
	var cfg app.Config
	if err := config.Load(&cfg, env); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &testenv.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("portal-api log:\n%s", logs.String())
		}
	})
	clock := o.Clock
	if clock == nil {
		clock = NewClock()
	}
	a, err := app.NewWithOptions(context.Background(), &cfg, slog.New(slog.NewTextHandler(logs, nil)), app.Options{Now: clock.Now, Events: o.Events, HashGate: o.HashGate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return &Harness{App: a, Clock: clock, DB: db}
}

// Request is one HTTP request of a test.
type Request struct {
	Method, Path string
	// Body is sent as JSON; a string or []byte is sent as it is.
	Body any
	// Token is sent as a Bearer token.
	Token   string
	Cookies []*http.Cookie
	Header  map[string]string
}

// Response is what the app answered.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Cookies are the Set-Cookie headers.
	Cookies []*http.Cookie
	// RawCookies are the Set-Cookie header values as sent.
	RawCookies []string
}

// Do sends r to the app and checks the exchange against openapi.yaml: the
// route must be documented, the response (status, headers, body) must match
// it, and a request the spec rejects must not succeed. It fails the test, so
// only the test's own goroutine may call it; other goroutines call Try.
func (h *Harness) Do(t testing.TB, r Request) *Response {
	t.Helper()
	res, err := h.Try(r)
	return reported(t, res, err)
}

// reported fails the test for a Try's error: at once without a response,
// and on with one (a response the spec does not allow is still checked).
func reported(t testing.TB, res *Response, err error) *Response {
	t.Helper()
	if res == nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Error(err)
	}
	return res
}

// Try is Do for any goroutine: it never touches a testing.T and returns
// what Do would fail the test for, for the test's goroutine to report. The
// response is nil when there is none (the exchange failed); with a response
// that openapi.yaml does not allow, both are returned.
func (h *Harness) Try(r Request) (*Response, error) {
	body, err := encodeBody(r.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: encode body: %w", r.Method, r.Path, err)
	}
	req := httptest.NewRequest(r.Method, r.Path, bytes.NewReader(body))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	for _, c := range r.Cookies {
		req.AddCookie(c)
	}
	s, err := loadSpec()
	if err != nil {
		return nil, err
	}
	check := s.checkRequest(req, body)

	res, err := h.App.HTTP.Test(req, -1)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	resBody, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read the response: %w", r.Method, r.Path, err)
	}
	out := &Response{Status: res.StatusCode, Header: res.Header, Body: resBody, Cookies: res.Cookies(), RawCookies: res.Header.Values("Set-Cookie")}
	if err := check.response(out); err != nil {
		return out, fmt.Errorf("%s %s → %d: the response does not match openapi.yaml: %w\nbody: %s", r.Method, r.Path, out.Status, err, resBody)
	}
	return out, nil
}

func encodeBody(b any) ([]byte, error) {
	switch v := b.(type) {
	case nil:
		return nil, nil
	case string:
		return []byte(v), nil
	case []byte:
		return v, nil
	}
	return json.Marshal(b)
}

// JSON decodes the body into v.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %q: %v", r.Body, err)
	}
}

// Error decodes an error body.
func (r *Response) Error(t testing.TB) ErrorDetail {
	t.Helper()
	var e ErrorBody
	r.JSON(t, &e)
	return e.Error
}

// Cookie returns the Set-Cookie of the name, or nil.
func (r *Response) Cookie(name string) *http.Cookie {
	for _, c := range r.Cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// RawCookie returns the Set-Cookie header value for the name, or "".
func (r *Response) RawCookie(name string) string {
	for _, c := range r.RawCookies {
		if strings.HasPrefix(c, name+"=") {
			return c
		}
	}
	return ""
}

// Want fails the test unless the status is want.
func (r *Response) Want(t testing.TB, want int) *Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, r.Body)
	}
	return r
}

// RandomIP returns an address in 10.0.0.0/8 for a client of its own.
func RandomIP() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("10.%d.%d.%d", b[0], b[1], b[2])
}

// UniqueEmail returns an e-mail address no other test uses.
func UniqueEmail(name string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%x@example.com", name, b)
}
