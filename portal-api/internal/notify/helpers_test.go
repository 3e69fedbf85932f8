package notify_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/fake/fakewhatsapp"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/whatsapp"
	"github.com/resayil/portal/portal-api/internal/notify"
	"github.com/resayil/portal/portal-api/internal/store"
)

const (
	token   = "graph-token"
	phoneID = "100000000000001"
)

// clock is a clock the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 5, 4, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is one database, the fake Graph API over HTTP, and a clock.
type env struct {
	t     *testing.T
	db    *database.DB
	store *store.Store
	fake  *fakewhatsapp.Server
	url   string
	clock *clock
	logs  *testenv.Buffer
	seq   atomic.Int64
}

// eachBackend runs fn on SQLite and on MariaDB, in parallel.
func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, b))
		})
	}
}

func newEnv(t *testing.T, b testenv.Backend) *env {
	t.Helper()
	db, _ := testenv.Open(t, b)
	fake := fakewhatsapp.New(fakewhatsapp.Options{Token: token, PhoneNumberID: phoneID})
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, store: store.New(db), fake: fake, url: srv.URL, clock: newClock(), logs: &testenv.Buffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", e.logs.String())
		}
	})
	return e
}

// client is a WhatsApp client of the fake with a token.
func (e *env) client(tok, url string) *whatsapp.Client {
	return whatsapp.New(whatsapp.Config{BaseURL: url, APIVersion: "v23.0", PhoneNumberID: phoneID, Token: tok})
}

// worker builds a worker on the fake, its jitter always half the ceiling.
func (e *env) worker(cfg notify.Config) *notify.Worker {
	e.t.Helper()
	if cfg.Sender == nil {
		cfg.Sender = e.client(token, e.url)
	}
	cfg.Store, cfg.Now = e.store.Notify(), e.clock.Now
	if cfg.Rand == nil {
		cfg.Rand = func() float64 { return 0.5 }
	}
	cfg.Log = slog.New(slog.NewTextHandler(e.logs, nil))
	w, err := notify.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

func (e *env) exec(q string, args ...any) sql.Result {
	e.t.Helper()
	res, err := e.db.SQL.Exec(q, args...)
	if err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return res
}

func (e *env) int(q string, args ...any) int64 {
	e.t.Helper()
	var n int64
	if err := e.db.SQL.QueryRow(q, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// user creates a user with a personal account.
type user struct {
	ID      resayil.UserID
	Account resayil.AccountID
	Phone   string
}

func (e *env) user(phone string, optIn bool, role resayil.Role, locale resayil.Locale) user {
	e.t.Helper()
	n := e.seq.Add(1)
	u, err := e.store.CreateUser(context.Background(), store.NewUser{
		Email: fmt.Sprintf("u%d@example.com", n), Name: "User", Phone: phone, PasswordHash: "x", Role: role, Locale: locale,
	}, dbtime.Of(e.clock.Now()))
	if err != nil {
		e.t.Fatal(err)
	}
	e.exec(`UPDATE users SET whatsapp_opt_in = ? WHERE id = ?`, optIn, int64(u.ID))
	return user{ID: u.ID, Account: u.AccountID, Phone: phone}
}

// team creates a team account whose members have the given roles.
func (e *env) team(owner user, members map[user]string) resayil.AccountID {
	e.t.Helper()
	now := dbtime.Of(e.clock.Now())
	res := e.exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('team', 'active', ?, ?)`, now, now)
	acct, _ := res.LastInsertId()
	res = e.exec(`INSERT INTO teams (account_id, name, owner_user_id, created_at, updated_at) VALUES (?, 'Team', ?, ?, ?)`, acct, int64(owner.ID), now, now)
	team, _ := res.LastInsertId()
	for u, role := range members {
		e.exec(`INSERT INTO team_members (team_id, user_id, role, created_at) VALUES (?, ?, ?, ?)`, team, int64(u.ID), role, now)
	}
	return resayil.AccountID(acct)
}

// template registers event's WhatsApp template.
func (e *env) template(event, name, lang, category string, params int) {
	e.t.Helper()
	now := dbtime.Of(e.clock.Now())
	e.exec(`INSERT INTO whatsapp_templates (event, name, language_code, category, param_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		event, name, lang, category, params, now, now)
}

// outbox writes an outbox row as the features do and returns its id.
func (e *env) outbox(event, audience string, account resayil.AccountID, u resayil.UserID, p notify.Payload) int64 {
	e.t.Helper()
	raw, err := json.Marshal(p)
	if err != nil {
		e.t.Fatal(err)
	}
	now := dbtime.Of(e.clock.Now())
	var acct, usr any
	if account != 0 {
		acct = int64(account)
	}
	if u != 0 {
		usr = int64(u)
	}
	res := e.exec(`INSERT INTO notifications (dedupe_key, event, audience, account_id, user_id, locale, payload, status, attempts, next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, 'en', ?, 'pending', 0, ?, ?, ?)`, fmt.Sprintf("%s:%d", event, e.seq.Add(1)), event, audience, acct, usr, string(raw), now, now, now)
	id, err := res.LastInsertId()
	if err != nil {
		e.t.Fatal(err)
	}
	return id
}

// delivery is a row of notification_deliveries as a test reads it.
type delivery struct {
	ID        int64
	Phone     string
	Status    string
	Attempts  int
	Next      time.Time
	MessageID string
	LastError string
}

func (e *env) deliveries(notification int64) []delivery {
	e.t.Helper()
	ds, err := e.store.Notify().DeliveriesOf(context.Background(), notification)
	if err != nil {
		e.t.Fatal(err)
	}
	out := make([]delivery, len(ds))
	for i, d := range ds {
		out[i] = delivery{ID: d.ID, Phone: d.Phone, Status: string(d.Status), Attempts: d.Attempts, Next: d.NextAttemptAt,
			MessageID: d.ProviderMessageID, LastError: d.LastError}
	}
	return out
}

func (e *env) notification(id int64) notify.Notification {
	e.t.Helper()
	n, err := e.store.Notify().Notification(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// run is one pass that must not fail.
func run(t *testing.T, w *notify.Worker) notify.Pass {
	t.Helper()
	p, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// digits is how the fake (and Meta) sees a recipient.
func digits(phone string) string { return phone[1:] }

// graph wraps the fake in a server that calls hook before each send.
func graph(t *testing.T, fake http.Handler, hook func()) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hook()
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}
