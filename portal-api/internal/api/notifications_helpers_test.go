package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/fake/fakewhatsapp"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/apitest"
	"github.com/resayil/portal/portal-api/internal/notify"
)

const (
	waToken       = "graph-token"
	waPhoneID     = "100000000000001"
	waAppSecret   = "app-secret"
	waVerifyToken = "verify-me"
)

// wa is portal-api sending through the fake Graph API, with an admin.
type wa struct {
	*apitest.Harness
	fake  *fakewhatsapp.Server
	admin *apitest.Client
	// captured replays what the fake sends to a webhook (see capture).
	captured *capture
}

func newWA(t *testing.T, b testenv.Backend) *wa {
	t.Helper()
	fake := fakewhatsapp.New(fakewhatsapp.Options{Token: waToken, PhoneNumberID: waPhoneID, AppSecret: waAppSecret})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	h := harness(t, b, apitest.Options{Env: []string{
		"RESAYIL_WHATSAPP_API_URL=" + srv.URL, "RESAYIL_WHATSAPP_TOKEN=" + waToken, "RESAYIL_WHATSAPP_PHONE_NUMBER_ID=" + waPhoneID,
		"RESAYIL_WHATSAPP_APP_SECRET=" + waAppSecret, "RESAYIL_WHATSAPP_VERIFY_TOKEN=" + waVerifyToken,
	}})
	if h.App.Notifier == nil {
		t.Fatal("no notifier with a token set")
	}
	hash, err := account.Hasher{Cost: 4}.Hash(apitest.DefaultPassword)
	if err != nil {
		t.Fatal(err)
	}
	email := apitest.UniqueEmail("admin")
	if _, err := h.App.Store.Seed(context.Background(), seedAdmin(email, hash)); err != nil {
		t.Fatal(err)
	}
	admin := h.NewClient()
	admin.Login(t, email, apitest.DefaultPassword, false)
	return &wa{Harness: h, fake: fake, admin: admin, captured: newCapture(t)}
}

func eachWA(t *testing.T, fn func(t *testing.T, w *wa)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, newWA(t, b))
		})
	}
}

func (w *wa) exec(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	res, err := w.DB.SQL.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	id, _ := res.LastInsertId()
	return id
}

// member signs a user up with a phone of their own, opted in or not.
func (w *wa) member(t *testing.T, phone string, optIn bool) (*apitest.Client, apitest.User) {
	t.Helper()
	c, u := w.SignUp(t, "member")
	w.exec(t, `UPDATE users SET phone = ?, whatsapp_opt_in = ? WHERE id = ?`, phone, optIn, u.ID)
	// The tests write the outbox rows they send; registration's welcome
	// is not one of them.
	w.exec(t, `DELETE FROM notifications WHERE dedupe_key = ?`, fmt.Sprintf("welcome:user:%d", u.ID))
	u.Phone = phone
	return c, u
}

// template registers event's WhatsApp template as the test needs it, in
// place of the one the seed registered.
func (w *wa) template(t *testing.T, event, name, category string, params int) {
	t.Helper()
	now := dbtime.Of(w.Clock.Now())
	w.exec(t, `DELETE FROM whatsapp_templates WHERE event = ?`, event)
	w.exec(t, `INSERT INTO whatsapp_templates (event, name, language_code, category, param_count, created_at, updated_at) VALUES (?, ?, 'en', ?, ?, ?, ?)`,
		event, name, category, params, now, now)
}

// outbox writes an outbox row for a user as the features do.
func (w *wa) outbox(t *testing.T, event string, u apitest.User, p notify.Payload) int64 {
	t.Helper()
	raw, _ := json.Marshal(p)
	now := dbtime.Of(w.Clock.Now())
	return w.exec(t, `INSERT INTO notifications (dedupe_key, event, audience, account_id, user_id, locale, payload, status, attempts, next_attempt_at, created_at, updated_at)
VALUES (?, ?, 'user', ?, ?, 'en', ?, 'pending', 0, ?, ?, ?)`, fmt.Sprintf("%s:%d:%s", event, u.ID, apitest.RandomIP()), event, u.AccountID, u.ID, string(raw), now, now, now)
}

// send runs one pass of the app's worker.
func (w *wa) send(t *testing.T) notify.Pass {
	t.Helper()
	p, err := w.App.Notifier.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (w *wa) count(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := w.DB.SQL.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// capture is a webhook endpoint that keeps what the fake Graph API sends
// it, so a test replays Meta's exact request through the app (and the
// spec check of apitest); the handshake's challenge is echoed.
type capture struct {
	url string
	mu  sync.Mutex
	req *http.Request
	raw []byte
}

func newCapture(t *testing.T) *capture {
	c := &capture{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.req, c.raw = r, body
		c.mu.Unlock()
		_, _ = io.WriteString(w, r.URL.Query().Get("hub.challenge"))
	}))
	t.Cleanup(srv.Close)
	c.url = srv.URL + "/api/v1/webhooks/whatsapp"
	return c
}

// last is the request captured last, as an apitest request.
func (c *capture) last() apitest.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := apitest.Request{Method: c.req.Method, Path: c.req.URL.RequestURI(), Header: map[string]string{}}
	if len(c.raw) > 0 {
		r.Body = append([]byte(nil), c.raw...)
	}
	for _, h := range []string{"X-Hub-Signature-256", "Content-Type", "User-Agent"} {
		if v := c.req.Header.Get(h); v != "" {
			r.Header[h] = v
		}
	}
	return r
}
