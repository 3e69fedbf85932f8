package app_test

import (
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/fake/fakewhatsapp"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/app"
	"github.com/resayil/portal/portal-api/internal/store"
)

// TestConfig_Notifications: each notification variable is checked and a
// bad one is named; production refuses to start with notifications on and
// no token (or no phone number id), and accepts notifications off.
func TestConfig_Notifications(t *testing.T) {
	load := func(env ...string) error {
		var cfg app.Config
		env = append([]string{"RESAYIL_DATA_DIR=" + t.TempDir(), "RESAYIL_JWT_SECRET=" + strings.Repeat("s", 40), "RESAYIL_MYFATOORAH_TOKEN=t"}, env...)
		if err := config.Load(&cfg, env); err != nil {
			return err
		}
		return cfg.Validate()
	}
	prod := "RESAYIL_ENV=production"
	for _, tc := range []struct {
		env  []string
		want string // the variable named, "" for valid
	}{
		{nil, ""},
		{[]string{prod}, "RESAYIL_WHATSAPP_TOKEN"},
		{[]string{prod, "RESAYIL_WHATSAPP_TOKEN=t"}, "RESAYIL_WHATSAPP_PHONE_NUMBER_ID"},
		{[]string{prod, "RESAYIL_WHATSAPP_TOKEN=t", "RESAYIL_WHATSAPP_PHONE_NUMBER_ID=1", "RESAYIL_WHATSAPP_API_URL=http://127.0.0.1:8090"}, "RESAYIL_WHATSAPP_API_URL"},
		{[]string{prod, "RESAYIL_WHATSAPP_TOKEN=t", "RESAYIL_WHATSAPP_PHONE_NUMBER_ID=1"}, ""},
		{[]string{prod, "RESAYIL_NOTIFICATIONS=off"}, ""},
		{[]string{"RESAYIL_NOTIFICATIONS=yes"}, "RESAYIL_NOTIFICATIONS"},
		{[]string{"RESAYIL_WHATSAPP_API_URL=graph.facebook.com"}, "RESAYIL_WHATSAPP_API_URL"},
		{[]string{"RESAYIL_WHATSAPP_API_VERSION=23"}, "RESAYIL_WHATSAPP_API_VERSION"},
		{[]string{"RESAYIL_WHATSAPP_PHONE_NUMBER_ID=12/../34"}, "RESAYIL_WHATSAPP_PHONE_NUMBER_ID"},
		{[]string{"RESAYIL_ADMIN_PHONES=+96550000001, +96550000002"}, ""},
		{[]string{"RESAYIL_ADMIN_PHONES=+96550000001,96550000002"}, "RESAYIL_ADMIN_PHONES"},
		{[]string{"RESAYIL_NOTIFY_INTERVAL=10ms"}, "RESAYIL_NOTIFY_INTERVAL"},
		{[]string{"RESAYIL_NOTIFY_BATCH=0"}, "RESAYIL_NOTIFY_BATCH"},
		{[]string{"RESAYIL_NOTIFY_BATCH=100"}, "RESAYIL_NOTIFY_LEASE"},
		{[]string{"RESAYIL_NOTIFY_MAX_ATTEMPTS=0"}, "RESAYIL_NOTIFY_MAX_ATTEMPTS"},
		{[]string{"RESAYIL_NOTIFY_BACKOFF_BASE=0s"}, "RESAYIL_NOTIFY_BACKOFF_BASE"},
		{[]string{"RESAYIL_NOTIFY_BACKOFF_MAX=1s"}, "RESAYIL_NOTIFY_BACKOFF_MAX"},
		{[]string{"RESAYIL_NOTIFY_PROBE_INTERVAL=0s"}, "RESAYIL_NOTIFY_PROBE_INTERVAL"},
	} {
		err := load(tc.env...)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want+":")):
			t.Errorf("%v: %v, want an error naming %s", tc.env, err, tc.want)
		}
	}
}

// TestServe_SendsTheOutbox: `portal-api serve` runs the notifier: an
// outbox row reaches the fake Graph API without anyone calling it, and
// the worker stops with serve.
func TestServe_SendsTheOutbox(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fake := fakewhatsapp.New(fakewhatsapp.Options{Token: "tok", PhoneNumberID: "123"})
			srv := httptest.NewServer(fake)
			t.Cleanup(srv.Close)
			_, dsn := testenv.Open(t, b)
			a := newTestApp(t, dsn, "RESAYIL_PORTAL_ADDR=127.0.0.1:0", "RESAYIL_WHATSAPP_API_URL="+srv.URL, "RESAYIL_WHATSAPP_TOKEN=tok",
				"RESAYIL_WHATSAPP_PHONE_NUMBER_ID=123", "RESAYIL_NOTIFY_INTERVAL=100ms")
			if a.Notifier == nil {
				t.Fatal("no notifier")
			}
			ctx := context.Background()
			now := dbtime.Of(time.Now())
			u, err := a.Store.CreateUser(ctx, store.NewUser{Email: "fatima@example.com", Name: "Fatima", Phone: "+96550000001",
				PasswordHash: "x", Role: resayil.RoleUser, Locale: resayil.LocaleEN}, now)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`UPDATE users SET whatsapp_opt_in = ? WHERE id = ?`, []any{true, int64(u.ID)}},
				{`INSERT INTO whatsapp_templates (event, name, language_code, category, param_count, created_at, updated_at) VALUES ('welcome', 'resayil_welcome', 'ar', 'utility', 2, ?, ?)`, []any{now, now}},
				{`INSERT INTO notifications (dedupe_key, event, audience, account_id, user_id, locale, payload, status, attempts, next_attempt_at, created_at, updated_at)
VALUES ('welcome:1', 'welcome', 'user', ?, ?, 'en', '{"params":["Fatima"]}', 'pending', 0, ?, ?, ?)`, []any{int64(u.AccountID), int64(u.ID), now, now, now}},
			} {
				if _, err := a.DB.SQL.Exec(q.sql, q.args...); err != nil {
					t.Fatal(err)
				}
			}
			serveCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- a.Serve(serveCtx, func(net.Addr) {}) }()
			waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			msgs, err := fake.WaitMessages(waitCtx, 1)
			stop()
			if err != nil {
				t.Fatal(err)
			}
			if m := msgs[0]; m.To != "96550000001" || m.Name != "resayil_welcome" || strings.Join(m.BodyParams, "|") != "Fatima|Fatima" {
				t.Errorf("message %+v", m)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop")
			}
		})
	}
}

// TestNew_NoTokenNoWorker: in development without a token (or with
// notifications off) nothing is sent, and the admin routes still answer.
func TestNew_NoTokenNoWorker(t *testing.T) {
	for _, env := range [][]string{nil, {"RESAYIL_NOTIFICATIONS=off", "RESAYIL_WHATSAPP_TOKEN=t"}} {
		a := newTestApp(t, testenv.EmptySQLite(t), env...)
		if a.Notifier != nil || a.NotifyAdmin == nil {
			t.Errorf("%v: notifier %v, admin %v", env, a.Notifier, a.NotifyAdmin)
		}
	}
}
