package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/whatsapp"
	"github.com/resayil/portal/portal-api/internal/apitest"
	"github.com/resayil/portal/portal-api/internal/notify"
)

// TestWhatsAppWebhook_Handshake: Meta's subscription check (played by the
// fake) gets the challenge back as text with the right verify token, and
// 403 otherwise; a portal without a verify token refuses every one.
func TestWhatsAppWebhook_Handshake(t *testing.T) {
	eachWA(t, func(t *testing.T, w *wa) {
		ctx := context.Background()
		if err := w.fake.VerifyCallback(ctx, w.captured.url, waVerifyToken); err != nil {
			t.Fatal(err)
		}
		req := w.captured.last()
		res := w.Do(t, req).Want(t, http.StatusOK)
		challenge := strings.SplitN(strings.SplitN(req.Path, "hub.challenge=", 2)[1], "&", 2)[0]
		if string(res.Body) != challenge || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("answer %q (%s), want the challenge %q as text", res.Body, res.Header.Get("Content-Type"), challenge)
		}

		if err := w.fake.VerifyCallback(ctx, w.captured.url, "wrong"); err != nil {
			t.Fatal(err)
		}
		if e := w.Do(t, w.captured.last()).Want(t, http.StatusForbidden).Error(t); e.Code != "forbidden" {
			t.Errorf("%+v", e)
		}
		for _, q := range []string{
			"hub.mode=unsubscribe&hub.verify_token=" + waVerifyToken + "&hub.challenge=1",
			"hub.challenge=1",
		} {
			w.Do(t, get("/api/v1/webhooks/whatsapp?"+q)).Want(t, http.StatusForbidden)
		}
	})
	t.Run("no verify token configured", func(t *testing.T) {
		h := harness(t, testenv.SQLiteBackend)
		h.Do(t, get("/api/v1/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=&hub.challenge=1")).Want(t, http.StatusForbidden)
	})
}

// TestWhatsAppWebhook_Statuses: a signed status webhook moves the
// delivery's provider status forward only, whatever the order statuses
// arrive in; a failed status fails the delivery with Meta's error; a bad
// or missing signature is 401 and records nothing; unknown ids are
// acknowledged and ignored.
func TestWhatsAppWebhook_Statuses(t *testing.T) {
	eachWA(t, func(t *testing.T, w *wa) {
		ctx := context.Background()
		w.template(t, "welcome", "resayil_welcome", notify.CategoryUtility, 2)
		_, u := w.member(t, "+96550000101", true)
		row := w.outbox(t, "welcome", u, notify.Payload{Params: []string{"Fatima"}})
		if p := w.send(t); p.Sent != 1 {
			t.Fatalf("pass %+v", p)
		}
		detail := func() notificationDetail {
			var d notificationDetail
			w.admin.Do(t, get("/api/v1/admin/notifications/"+itoa(row))).Want(t, http.StatusOK).JSON(t, &d)
			if len(d.Deliveries) != 1 {
				t.Fatalf("deliveries %+v", d.Deliveries)
			}
			return d
		}
		wamid := *detail().Deliveries[0].ProviderMessageID
		status := func(s string, errs ...whatsapp.StatusError) whatsapp.Status {
			return whatsapp.Status{MessageID: wamid, Status: s, RecipientID: "96550000101", Timestamp: w.Clock.Now(), Errors: errs}
		}
		post := func(statuses ...whatsapp.Status) apitest.Request {
			t.Helper()
			if err := w.fake.PostStatuses(ctx, w.captured.url, statuses...); err != nil {
				t.Fatal(err)
			}
			return w.captured.last()
		}
		applied := func(req apitest.Request) int {
			t.Helper()
			var ack struct {
				Status  string `json:"status"`
				Applied int    `json:"applied"`
			}
			w.Do(t, req).Want(t, http.StatusOK).JSON(t, &ack)
			return ack.Applied
		}

		// Signature checks first: nothing is recorded.
		delivered := post(status("delivered"))
		missing := delivered
		missing.Header = map[string]string{"Content-Type": "application/json"}
		wrong := delivered
		wrong.Header = map[string]string{"X-Hub-Signature-256": "sha256=" + strings.Repeat("0", 64)}
		tampered := delivered
		tampered.Body = []byte(strings.Replace(string(delivered.Body.([]byte)), "delivered", "read", 1))
		for _, r := range []apitest.Request{missing, wrong, tampered} {
			if e := w.Do(t, r).Want(t, http.StatusUnauthorized).Error(t); e.Code != "unauthorized" {
				t.Errorf("%+v", e)
			}
		}
		if d := detail().Deliveries[0]; d.ProviderStatus != nil {
			t.Fatalf("a refused webhook recorded %q", *d.ProviderStatus)
		}

		// Out of order: read first; delivered and sent after it change nothing.
		if n := applied(post(status("read"))); n != 1 {
			t.Errorf("read applied %d", n)
		}
		if n := applied(delivered); n != 0 {
			t.Errorf("delivered after read applied %d", n)
		}
		if n := applied(post(status("sent"), status("read"))); n != 0 {
			t.Errorf("sent and a repeated read applied %d", n)
		}
		if d := detail().Deliveries[0]; *d.ProviderStatus != "read" || d.Status != "sent" {
			t.Errorf("after out-of-order statuses: %+v", d)
		}

		// Failed is final and fails the delivery, once.
		failed := post(status("failed", whatsapp.StatusError{Code: 131047, Title: "Re-engagement message", Message: "More than 24 hours"}))
		if n := applied(failed); n != 1 {
			t.Errorf("failed applied %d", n)
		}
		if n := applied(failed); n != 0 {
			t.Errorf("a repeated failed applied %d", n)
		}
		d := detail().Deliveries[0]
		if d.Status != "failed" || *d.ProviderStatus != "failed" || d.LastError == nil || !strings.Contains(*d.LastError, "131047") {
			t.Errorf("after failed: %+v", d)
		}

		// A message of someone else's: acknowledged, nothing changes.
		other := whatsapp.Status{MessageID: "wamid.unknown", Status: "delivered", RecipientID: "96550000999", Timestamp: w.Clock.Now().Add(time.Second)}
		if n := applied(post(other)); n != 0 {
			t.Errorf("unknown id applied %d", n)
		}
		// Not JSON, but signed: 400.
		bad := post(other)
		bad.Body = []byte("not json")
		bad.Header["X-Hub-Signature-256"] = signWith(waAppSecret, []byte("not json"))
		w.Do(t, bad).Want(t, http.StatusBadRequest)
	})
	t.Run("no app secret configured", func(t *testing.T) {
		h := harness(t, testenv.SQLiteBackend)
		body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
		h.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/webhooks/whatsapp", Body: body,
			Header: map[string]string{"X-Hub-Signature-256": signWith("", body)}}).Want(t, http.StatusUnauthorized)
	})
}
