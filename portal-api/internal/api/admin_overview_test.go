package api_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetsql"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

type money struct {
	Fils int64  `json:"fils"`
	KWD  string `json:"kwd"`
}

type RevTotals struct {
	From     time.Time        `json:"from"`
	To       time.Time        `json:"to"`
	Total    money            `json:"total"`
	ByTier   map[string]money `json:"by_tier"`
	Topups   money            `json:"topups"`
	Payments int64            `json:"payments"`
}

type backendRequests struct {
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
}

type overview struct {
	Users struct {
		Total    int64 `json:"total"`
		New7d    int64 `json:"new_7d"`
		New30d   int64 `json:"new_30d"`
		Disabled int64 `json:"disabled"`
	} `json:"users"`
	Subscriptions struct {
		ActiveTotal  int64            `json:"active_total"`
		ActiveByTier map[string]int64 `json:"active_by_tier"`
	} `json:"subscriptions"`
	Revenue struct {
		ThisMonth  RevTotals `json:"this_month"`
		Last30Days RevTotals `json:"last_30_days"`
	} `json:"revenue"`
	Credits struct {
		Granted         int64 `json:"granted"`
		DebitedByAdmins int64 `json:"debited_by_admins"`
		Consumed        int64 `json:"consumed"`
	} `json:"credits"`
	RequestsToday struct {
		Day   string          `json:"day"`
		Local backendRequests `json:"local"`
		Cloud backendRequests `json:"cloud"`
		Total backendRequests `json:"total"`
	} `json:"requests_today"`
	CloudBudget struct {
		Day     string `json:"day"`
		State   string `json:"state"`
		Used    *int64 `json:"used"`
		Cap     *int64 `json:"cap"`
		Percent *int64 `json:"percent"`
		CloudOn *bool  `json:"cloud_on"`
	} `json:"cloud_budget"`
	Notifications struct {
		Pending int64 `json:"pending"`
		Sending int64 `json:"sending"`
		Failed  int64 `json:"failed"`
	} `json:"notifications"`
}

func kwd(fils int64) money {
	return money{Fils: fils, KWD: fmt.Sprintf("%d.%03d", fils/1000, fils%1000)}
}

func tiers(basic, pro, enterprise int64) map[string]money {
	return map[string]money{"basic": kwd(basic), "pro": kwd(pro), "enterprise": kwd(enterprise)}
}

// relogin logs the clients in again after the clock moved past their
// access tokens' life.
func relogin(t *testing.T, cs ...*apitest.Client) {
	t.Helper()
	for _, c := range cs {
		c.Login(t, c.Email, apitest.DefaultPassword, false)
	}
}

func (s *shop) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := s.DB.SQL.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (s *shop) overview(t *testing.T, admin *apitest.Client) overview {
	t.Helper()
	var o overview
	admin.Do(t, get("/api/v1/admin/overview")).Want(t, http.StatusOK).JSON(t, &o)
	return o
}

// TestAdminOverview_Figures builds a small platform over 25 days and
// checks every figure of the overview: users, running plans, revenue by
// paid time this Kuwait month and over 30 days, credits, today's
// requests by backend, the cloud budget's states and the notification
// backlog.
func TestAdminOverview_Figures(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		t0 := s.Clock.Now() // 2025-03-01 09:00 UTC, 12:00 in Kuwait
		s.exec(t, "UPDATE users SET created_at = ? WHERE email_normalized = ?", t0.Add(-60*24*time.Hour), s.admin)

		c1, u1 := s.SignUp(t, "first")
		p1 := s.topup(t, c1, "topup-15k")
		s.pay(t, p1.invoice)
		s.deliverSigned(t, p1.invoice).Want(t, http.StatusOK)
		// Paid on 27 February: within the last 30 days, not this month.
		s.exec(t, "UPDATE payments SET paid_at = ? WHERE id = ?", time.Date(2025, 2, 27, 10, 0, 0, 0, time.UTC), p1.PaymentID)

		s.Clock.Advance(20 * 24 * time.Hour)
		relogin(t, admin)
		c2, _ := s.SignUp(t, "second")
		p2 := s.subscribe(t, c2, "pro")
		s.pay(t, p2.invoice)
		s.deliverSigned(t, p2.invoice).Want(t, http.StatusOK)
		_, u3 := s.SignUp(t, "third")
		s.exec(t, "UPDATE users SET disabled_at = ? WHERE id = ?", s.Clock.Now(), u3.ID)

		s.Clock.Advance(5 * 24 * time.Hour) // 2025-03-26 09:00 UTC
		relogin(t, admin)
		c4, _ := s.SignUp(t, "fourth")
		p4 := s.subscribe(t, c4, "basic")
		if err := s.mf.OverrideAmount(p4.invoice, 1000, ""); err != nil {
			t.Fatal(err)
		}
		s.pay(t, p4.invoice)
		s.deliverSigned(t, p4.invoice).Want(t, http.StatusOK)
		if st := s.paymentStatus(t, p4.PaymentID); st != "needs_review" {
			t.Fatalf("payment 4 %s", st)
		}
		admin.Do(t, adjust(u1.ID, 700, "goodwill")).Want(t, http.StatusCreated)
		admin.Do(t, adjust(u1.ID, -200, "correction")).Want(t, http.StatusCreated)

		now := s.Clock.Now()
		kuwaitMidnight := time.Date(2025, 3, 25, 21, 0, 0, 0, time.UTC)
		for _, r := range []apitest.UsageRecord{
			{AccountID: u1.AccountID, Credits: 10, CreatedAt: now.Add(-time.Hour)},
			{AccountID: u1.AccountID, Credits: 20, CreatedAt: kuwaitMidnight},
			{AccountID: u1.AccountID, Credits: 0, Status: "upstream_error", CreatedAt: now},
			{AccountID: u1.AccountID, Credits: 40, Backend: "cloud", CreatedAt: now.Add(-2 * time.Hour)},
			{AccountID: u1.AccountID, Credits: 40, Backend: "cloud", CreatedAt: now},
			// Yesterday in Kuwait: consumed this month, not today's.
			{AccountID: u1.AccountID, Credits: 100, CreatedAt: kuwaitMidnight.Add(-time.Minute)},
			// 31 days ago: neither.
			{AccountID: u1.AccountID, Credits: 1000, CreatedAt: now.Add(-31 * 24 * time.Hour)},
		} {
			s.AddUsage(t, r)
		}
		s.exec(t, `INSERT INTO notifications (dedupe_key, event, audience, payload, next_attempt_at, created_at, updated_at)
VALUES ('test:backlog', 'welcome', 'user', '{}', ?, ?, ?)`, now, now, now)
		var nid int64
		if err := s.DB.SQL.QueryRow("SELECT id FROM notifications WHERE dedupe_key = 'test:backlog'").Scan(&nid); err != nil {
			t.Fatal(err)
		}
		for i, st := range []string{"pending", "pending", "failed", "sent", "sending"} {
			s.exec(t, `INSERT INTO notification_deliveries (notification_id, phone, status, next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?)`, nid, fmt.Sprintf("+96550000%03d", i), st, now, now, now)
		}

		o := s.overview(t, admin)
		var want overview
		// u2 and u3 were created 5 days ago and u4 now; u1 25 days ago; the
		// admin 85 days ago.
		want.Users.Total, want.Users.New7d, want.Users.New30d, want.Users.Disabled = 5, 3, 4, 1
		want.Subscriptions.ActiveTotal = 1
		want.Subscriptions.ActiveByTier = map[string]int64{"basic": 0, "pro": 1, "enterprise": 0}
		want.Revenue.ThisMonth = RevTotals{From: time.Date(2025, 2, 28, 21, 0, 0, 0, time.UTC), To: now,
			Total: kwd(15000), ByTier: tiers(0, 15000, 0), Topups: kwd(0), Payments: 1}
		want.Revenue.Last30Days = RevTotals{From: now.Add(-30 * 24 * time.Hour), To: now,
			Total: kwd(21500), ByTier: tiers(0, 15000, 0), Topups: kwd(6500), Payments: 2}
		want.Credits.Granted, want.Credits.DebitedByAdmins, want.Credits.Consumed = 15000+20000+700, 200, 10+20+0+40+40+100
		want.RequestsToday.Day = "2025-03-26"
		want.RequestsToday.Local = backendRequests{Requests: 3, Errors: 1, ErrorRate: 0.3333}
		want.RequestsToday.Cloud = backendRequests{Requests: 2, Errors: 0, ErrorRate: 0}
		want.RequestsToday.Total = backendRequests{Requests: 5, Errors: 1, ErrorRate: 0.2}
		i64 := func(n int64) *int64 { return &n }
		yes := true
		want.CloudBudget.Day, want.CloudBudget.State = "2025-03-26", "ok"
		want.CloudBudget.Used, want.CloudBudget.Cap, want.CloudBudget.Percent, want.CloudBudget.CloudOn = i64(0), i64(500), i64(0), &yes
		want.Notifications.Pending, want.Notifications.Sending, want.Notifications.Failed = 2, 1, 1
		opts := cmp.Options{cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}
		if d := cmp.Diff(want, o, opts); d != "" {
			t.Errorf("overview (-want +got):\n%s", d)
		}

		// The cloud budget's states: warning from 80 %, exhausted (cloud
		// off) at 100 % and with a cap of 0.
		budget, err := cloudbudgetsql.New(s.DB, cloudbudgetsql.Config{DefaultCap: 500, Now: s.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		ctx, day := context.Background(), cloudbudget.DayOf(now)
		if _, err := budget.SetCap(ctx, day, 10); err != nil {
			t.Fatal(err)
		}
		take := func(n int) {
			for range n {
				if _, _, err := budget.Take(ctx, day); err != nil {
					t.Fatal(err)
				}
			}
		}
		take(7)
		for _, step := range []struct {
			take      int
			cap       int64
			state     string
			used, pct int64
			on        bool
		}{
			{0, 10, "ok", 7, 70, true},
			{1, 10, "warning", 8, 80, true},
			{1, 10, "warning", 9, 90, true},
			{1, 10, "exhausted", 10, 100, false},
			{0, 0, "exhausted", 10, 100, false},
		} {
			take(step.take)
			if step.cap != 10 {
				if _, err := budget.SetCap(ctx, day, step.cap); err != nil {
					t.Fatal(err)
				}
			}
			b := s.overview(t, admin).CloudBudget
			if b.State != step.state || *b.Used != step.used || *b.Cap != step.cap || *b.Percent != step.pct || *b.CloudOn != step.on {
				t.Errorf("used %d of %d: state %s used %d cap %d percent %d cloud_on %v", step.used, step.cap, b.State, *b.Used, *b.Cap, *b.Percent, *b.CloudOn)
			}
		}
	})
}
