package api_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakewhatsapp"
	"github.com/resayil/portal/portal-api/internal/apitest"
	"github.com/resayil/portal/portal-api/internal/notify"
	"github.com/resayil/portal/portal-api/internal/store"
)

type notificationOut struct {
	ID        int64   `json:"id"`
	Event     string  `json:"event"`
	Audience  string  `json:"audience"`
	UserID    *int64  `json:"user_id"`
	Status    string  `json:"status"`
	Reason    *string `json:"reason"`
	DedupeKey string  `json:"dedupe_key"`
	Payload   *struct {
		Params []string `json:"params"`
	} `json:"payload"`
}

type deliveryOut struct {
	ID                int64     `json:"id"`
	NotificationID    int64     `json:"notification_id"`
	Event             string    `json:"event"`
	Phone             string    `json:"phone"`
	Status            string    `json:"status"`
	Attempts          int       `json:"attempts"`
	NextAttemptAt     time.Time `json:"next_attempt_at"`
	ProviderMessageID *string   `json:"provider_message_id"`
	ProviderStatus    *string   `json:"provider_status"`
	LastError         *string   `json:"last_error"`
}

type notificationDetail struct {
	notificationOut
	Deliveries []deliveryOut `json:"deliveries"`
}

type notificationList struct {
	Data       []notificationOut `json:"data"`
	NextCursor *string           `json:"next_cursor"`
}

type deliveryList struct {
	Data       []deliveryOut `json:"data"`
	NextCursor *string       `json:"next_cursor"`
}

type notifierOut struct {
	Enabled    bool             `json:"enabled"`
	Paused     bool             `json:"paused"`
	Reason     *string          `json:"reason"`
	PausedAt   *time.Time       `json:"paused_at"`
	Deliveries map[string]int64 `json:"deliveries"`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func signWith(secret string, body []byte) string { return fakewhatsapp.Sign(secret, body) }

var notificationAdminRoutes = []apitest.Request{
	get("/api/v1/admin/notifications"),
	get("/api/v1/admin/notifications/1"),
	get("/api/v1/admin/notification-deliveries"),
	post("/api/v1/admin/notification-deliveries/1/retry", nil),
	get("/api/v1/admin/notifier"),
	post("/api/v1/admin/notifier/resume", nil),
}

// TestNotificationsAdmin_AdminOnly: every notifications admin route is
// 401 without a token and 403 for a user who is not an admin.
func TestNotificationsAdmin_AdminOnly(t *testing.T) {
	eachWA(t, func(t *testing.T, w *wa) {
		c, _ := w.SignUp(t, "curious")
		for _, r := range notificationAdminRoutes {
			w.Do(t, r).Want(t, http.StatusUnauthorized)
			if e := c.Do(t, r).Want(t, http.StatusForbidden).Error(t); e.Code != "forbidden" {
				t.Errorf("%s %s: %+v", r.Method, r.Path, e)
			}
		}
	})
}

// TestNotificationsAdmin_ListFilterAndRetry: the outbox and its deliveries
// as the admin sees them (filters, pages, a redacted reset code), and a
// failed delivery retried.
func TestNotificationsAdmin_ListFilterAndRetry(t *testing.T) {
	eachWA(t, func(t *testing.T, w *wa) {
		w.template(t, "welcome", "resayil_welcome", notify.CategoryUtility, 2)
		w.template(t, "credits_low", "resayil_credits_low", notify.CategoryUtility, 2)
		w.template(t, notify.EventPasswordResetCode, "resayil_reset_code", notify.CategoryAuthentication, 1)
		_, fatima := w.member(t, "+96550000201", true)
		_, ali := w.member(t, "+96550000202", false)
		welcome := w.outbox(t, "welcome", fatima, notify.Payload{Params: []string{"Fatima"}})
		skipped := w.outbox(t, "credits_low", ali, notify.Payload{Params: []string{"120"}})
		reset := w.outbox(t, notify.EventPasswordResetCode, fatima, notify.Payload{Params: []string{"482913"}})
		w.fake.FailNext(1, 131026, 400) // the first message (welcome, the oldest) is undeliverable
		if p := w.send(t); p.Expanded != 2 || p.Skipped != 1 || p.Sent != 1 || p.Failed != 1 {
			t.Fatalf("pass %+v", p)
		}
		lowAgain := w.outbox(t, "credits_low", fatima, notify.Payload{Params: []string{"90"}})
		list := func(query string) notificationList {
			t.Helper()
			var l notificationList
			w.admin.Do(t, get("/api/v1/admin/notifications"+query)).Want(t, http.StatusOK).JSON(t, &l)
			return l
		}
		ids := func(l notificationList) []int64 {
			var out []int64
			for _, n := range l.Data {
				out = append(out, n.ID)
			}
			return out
		}
		if got := ids(list("")); !slices.Equal(got, []int64{lowAgain, reset, skipped, welcome}) {
			t.Errorf("all, newest first: %v", got)
		}
		first := list("?limit=3")
		if first.NextCursor == nil || len(first.Data) != 3 {
			t.Fatalf("first page %+v", first)
		}
		if got := ids(list("?limit=3&cursor=" + *first.NextCursor)); !slices.Equal(got, []int64{welcome}) {
			t.Errorf("second page %v", got)
		}
		if l := list("?status=skipped"); len(l.Data) != 1 || l.Data[0].ID != skipped || l.Data[0].Reason == nil ||
			!strings.Contains(*l.Data[0].Reason, "consent") {
			t.Errorf("skipped: %+v", l.Data)
		}
		if got := ids(list("?status=pending")); !slices.Equal(got, []int64{lowAgain}) {
			t.Errorf("pending: %v", got)
		}
		if got := ids(list("?event=credits_low")); !slices.Equal(got, []int64{lowAgain, skipped}) {
			t.Errorf("credits_low: %v", got)
		}
		if got := ids(list("?phone=" + url.QueryEscape(fatima.Phone))); !slices.Equal(got, []int64{reset, welcome}) {
			t.Errorf("to Fatima's number: %v", got)
		}
		for _, n := range list("?event=" + notify.EventPasswordResetCode).Data {
			// Sent, so blanked; a code still waiting would show redacted.
			if n.Payload == nil || slices.ContainsFunc(n.Payload.Params, func(p string) bool { return p != "[redacted]" }) {
				t.Errorf("a reset code is shown: %+v", n.Payload)
			}
		}
		for q, field := range map[string]string{
			"?status=bogus": "status", "?phone=12": "phone", "?cursor=x": "cursor", "?limit=0": "limit", "?limit=101": "limit",
			"?event=" + strings.Repeat("e", 65): "event",
		} {
			e := w.admin.Do(t, get("/api/v1/admin/notifications"+q)).Want(t, http.StatusBadRequest).Error(t)
			if len(e.Fields) != 1 || e.Fields[0].Field != field {
				t.Errorf("%s: %+v", q, e)
			}
		}

		var detail notificationDetail
		w.admin.Do(t, get("/api/v1/admin/notifications/"+itoa(welcome))).Want(t, http.StatusOK).JSON(t, &detail)
		if detail.Event != "welcome" || len(detail.Deliveries) != 1 || detail.Deliveries[0].Phone != fatima.Phone {
			t.Fatalf("detail %+v", detail)
		}
		failed := detail.Deliveries[0]
		if failed.Status != "failed" || failed.LastError == nil || !strings.Contains(*failed.LastError, "131026") {
			t.Errorf("failed delivery %+v", failed)
		}
		w.admin.Do(t, get("/api/v1/admin/notifications/999999")).Want(t, http.StatusNotFound)

		var ds deliveryList
		w.admin.Do(t, get("/api/v1/admin/notification-deliveries?status=failed")).Want(t, http.StatusOK).JSON(t, &ds)
		if len(ds.Data) != 1 || ds.Data[0].ID != failed.ID || ds.Data[0].Event != "welcome" {
			t.Errorf("failed deliveries %+v", ds.Data)
		}
		w.admin.Do(t, get("/api/v1/admin/notification-deliveries?event="+notify.EventPasswordResetCode+"&phone="+url.QueryEscape(fatima.Phone))).
			Want(t, http.StatusOK).JSON(t, &ds)
		if len(ds.Data) != 1 || ds.Data[0].Status != "sent" || ds.Data[0].NotificationID != reset {
			t.Errorf("Fatima's reset code deliveries %+v", ds.Data)
		}
		w.admin.Do(t, get("/api/v1/admin/notification-deliveries?status=lost")).Want(t, http.StatusBadRequest)

		// Retry: the failed delivery is pending again, due now, its
		// attempts reset; a delivery that is not failed is 409.
		var retried deliveryOut
		w.admin.Do(t, post("/api/v1/admin/notification-deliveries/"+itoa(failed.ID)+"/retry", nil)).Want(t, http.StatusOK).JSON(t, &retried)
		if retried.Status != "pending" || retried.Attempts != 0 || retried.LastError != nil || !retried.NextAttemptAt.Equal(w.Clock.Now().Truncate(time.Microsecond)) {
			t.Errorf("retried %+v", retried)
		}
		if e := w.admin.Do(t, post("/api/v1/admin/notification-deliveries/"+itoa(failed.ID)+"/retry", nil)).Want(t, http.StatusConflict).Error(t); e.Code != "conflict" {
			t.Errorf("%+v", e)
		}
		w.admin.Do(t, post("/api/v1/admin/notification-deliveries/999999/retry", nil)).Want(t, http.StatusNotFound)
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = ? AND target_id = ?`, store.AuditDeliveryRetry, itoa(failed.ID)); n != 1 {
			t.Errorf("%d audit rows of the retry", n)
		}
		if p := w.send(t); p.Sent != 2 { // the retried welcome and the new credits_low
			t.Fatalf("pass after the retry %+v", p)
		}
		w.admin.Do(t, get("/api/v1/admin/notifications/"+itoa(welcome))).Want(t, http.StatusOK).JSON(t, &detail)
		if d := detail.Deliveries[0]; d.Status != "sent" || d.Attempts != 1 {
			t.Errorf("after the retry %+v", d)
		}
	})
}

// TestNotifier_PauseAndResume: a refused token shows as paused with Meta's
// reason; an admin resumes it by hand (audited).
func TestNotifier_PauseAndResume(t *testing.T) {
	eachWA(t, func(t *testing.T, w *wa) {
		w.template(t, "welcome", "resayil_welcome", notify.CategoryUtility, 2)
		_, u := w.member(t, "+96550000301", true)
		w.outbox(t, "welcome", u, notify.Payload{Params: []string{"x"}})
		notifier := func() notifierOut {
			var n notifierOut
			w.admin.Do(t, get("/api/v1/admin/notifier")).Want(t, http.StatusOK).JSON(t, &n)
			return n
		}
		if n := notifier(); !n.Enabled || n.Paused || n.Reason != nil || n.PausedAt != nil {
			t.Errorf("before: %+v", n)
		}
		w.fake.SetToken("rotated")
		if p := w.send(t); !p.Paused {
			t.Fatalf("pass %+v", p)
		}
		n := notifier()
		if !n.Paused || n.Reason == nil || !strings.Contains(*n.Reason, "190") || n.PausedAt == nil || n.Deliveries["pending"] != 1 {
			t.Errorf("paused: %+v", n)
		}
		var after notifierOut
		w.admin.Do(t, post("/api/v1/admin/notifier/resume", nil)).Want(t, http.StatusOK).JSON(t, &after)
		if after.Paused || after.Reason != nil || after.PausedAt != nil {
			t.Errorf("after resume: %+v", after)
		}
		// Resuming a running notifier changes nothing and audits nothing.
		w.admin.Do(t, post("/api/v1/admin/notifier/resume", nil)).Want(t, http.StatusOK)
		if c := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = ?`, store.AuditNotifierResume); c != 1 {
			t.Errorf("%d audit rows of resuming", c)
		}
	})
}
