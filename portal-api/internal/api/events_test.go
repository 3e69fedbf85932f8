package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

// outboxRow is a notifications row as the tests of the events read it.
type outboxRow struct {
	Event, Audience, Locale string
	AccountID, UserID       sql.NullInt64
	Params, ParamsAr        []string
	Data                    map[string]any
}

// outbox reads the outbox row with the dedupe key, and checks that its
// parameters fit the event's registered WhatsApp template: a utility
// template takes the Arabic half's parameters then the English half's,
// both the same number, so a row carries half of param_count.
func outbox(t *testing.T, db *database.DB, dedupeKey string) outboxRow {
	t.Helper()
	var r outboxRow
	var payload string
	err := db.SQL.QueryRow(`SELECT event, audience, locale, account_id, user_id, payload FROM notifications WHERE dedupe_key = ?`, dedupeKey).
		Scan(&r.Event, &r.Audience, &r.Locale, &r.AccountID, &r.UserID, &payload)
	if errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("no outbox row %s", dedupeKey)
	}
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Params   []string       `json:"params"`
		ParamsAr []string       `json:"params_ar"`
		Data     map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(payload), &p); err != nil {
		t.Fatalf("payload of %s: %v", dedupeKey, err)
	}
	r.Params, r.ParamsAr, r.Data = p.Params, p.ParamsAr, p.Data
	var category string
	var count int
	if err := db.SQL.QueryRow(`SELECT category, param_count FROM whatsapp_templates WHERE event = ?`, r.Event).Scan(&category, &count); err != nil {
		t.Fatalf("template of %s: %v", r.Event, err)
	}
	if category != "utility" || len(r.Params)*2 != count || (r.ParamsAr != nil && len(r.ParamsAr) != len(r.Params)) {
		t.Errorf("%s: %s template of %d parameters, the row carries %q (ar %q)", dedupeKey, category, count, r.Params, r.ParamsAr)
	}
	return r
}

// outboxCount counts the event's rows, of one account (0: any).
func outboxCount(t *testing.T, db *database.DB, event string, account int64) int64 {
	t.Helper()
	q, args := `SELECT COUNT(*) FROM notifications WHERE event = ?`, []any{event}
	if account != 0 {
		q, args = q+` AND account_id = ?`, append(args, account)
	}
	var n int64
	if err := db.SQL.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func consentRegistration(name, email string, consent any) map[string]any {
	body := map[string]any{"name": name, "email": email, "phone": "+96512345678", "password": apitest.DefaultPassword}
	if consent != nil {
		body["whatsapp_opt_in"] = consent
	}
	return body
}

// TestEvents_Welcome: a registration writes one welcome row (the user's
// name, in their locale), however often the e-mail is registered again;
// the consent given, or not, is the user's.
func TestEvents_Welcome(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		for _, tc := range []struct {
			name    string
			consent any
			locale  string
			want    bool
		}{
			{"consent", true, "ar", true},
			{"refused", false, "en", false},
			{"unsaid", nil, "", false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := s.NewClient()
				email := apitest.UniqueEmail(tc.name)
				body := consentRegistration("Fatima Al-Sabah", email, tc.consent)
				wantLocale := "en"
				if tc.locale != "" {
					body["locale"], wantLocale = tc.locale, tc.locale
				}
				var got apitest.UserResponse
				c.Do(t, post("/api/v1/auth/register", body)).Want(t, http.StatusCreated).JSON(t, &got)
				if got.User.WhatsAppOptIn != tc.want {
					t.Errorf("registered whatsapp_opt_in %v, want %v", got.User.WhatsAppOptIn, tc.want)
				}
				c.Login(t, email, apitest.DefaultPassword, false)
				var me apitest.UserResponse
				c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK).JSON(t, &me)
				if me.User.WhatsAppOptIn != tc.want {
					t.Errorf("GET /me whatsapp_opt_in %v, want %v", me.User.WhatsAppOptIn, tc.want)
				}

				key := fmt.Sprintf("welcome:user:%d", got.User.ID)
				r := outbox(t, s.DB, key)
				want := outboxRow{Event: "welcome", Audience: "user", Locale: wantLocale,
					AccountID: sql.NullInt64{Int64: got.User.AccountID, Valid: true}, UserID: sql.NullInt64{Int64: got.User.ID, Valid: true},
					Params: []string{"Fatima Al-Sabah"}}
				if diff := cmp.Diff(want, r); diff != "" {
					t.Errorf("welcome row (-want +got):\n%s", diff)
				}
				c.Do(t, post("/api/v1/auth/register", body)).Want(t, http.StatusConflict)
				if n := outboxCount(t, s.DB, "welcome", got.User.AccountID); n != 1 {
					t.Errorf("%d welcome rows, want 1", n)
				}
			})
		}
		t.Run("consentMustBeABoolean", func(t *testing.T) {
			t.Parallel()
			email := apitest.UniqueEmail("typed")
			e := s.NewClient().Do(t, post("/api/v1/auth/register", consentRegistration("Noor", email, "yes"))).Want(t, http.StatusBadRequest).Error(t)
			want := apitest.ErrorDetail{Code: "invalid", Message: "Must be a boolean.", Fields: []apitest.FieldError{{Field: "whatsapp_opt_in", Message: "Must be a boolean."}}}
			if diff := cmp.Diff(want, e); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM users WHERE email = ?", email); n != 0 {
				t.Errorf("a refused registration created %d users", n)
			}
		})
		t.Run("seededAdminIsNotWelcomed", func(t *testing.T) {
			t.Parallel()
			if n := s.count(t, `SELECT COUNT(*) FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.event = 'welcome' AND u.email = ?`, s.admin); n != 0 {
				t.Errorf("%d welcome rows for the seeded admin", n)
			}
		})
	})
}

// TestMe_WhatsAppConsent: PATCH /me gives and withdraws the consent; null
// or absent keeps it; a non-boolean is a field error.
func TestMe_WhatsAppConsent(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, u := h.SignUp(t, "consent")
		if u.WhatsAppOptIn {
			t.Fatal("registered without consent, yet opted in")
		}
		me := func() apitest.User {
			t.Helper()
			var got apitest.UserResponse
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK).JSON(t, &got)
			return got.User
		}
		for i, tc := range []struct {
			body map[string]any
			want bool
		}{
			{map[string]any{"whatsapp_opt_in": true}, true},
			{map[string]any{"locale": "ar"}, true},
			{map[string]any{"whatsapp_opt_in": nil}, true},
			{map[string]any{"whatsapp_opt_in": false, "name": "Noor"}, false},
			{map[string]any{"whatsapp_opt_in": true}, true},
		} {
			var got apitest.UserResponse
			c.Do(t, patchMe(tc.body)).Want(t, http.StatusOK).JSON(t, &got)
			if got.User.WhatsAppOptIn != tc.want {
				t.Errorf("%d %v: answered whatsapp_opt_in %v, want %v", i, tc.body, got.User.WhatsAppOptIn, tc.want)
			}
			if m := me(); m.WhatsAppOptIn != tc.want {
				t.Errorf("%d %v: stored whatsapp_opt_in %v, want %v", i, tc.body, m.WhatsAppOptIn, tc.want)
			}
		}
		var stored bool
		if err := h.DB.SQL.QueryRow(`SELECT whatsapp_opt_in FROM users WHERE id = ?`, u.ID).Scan(&stored); err != nil || !stored {
			t.Errorf("users.whatsapp_opt_in %v, %v; want true", stored, err)
		}
		e := c.Do(t, patchMe(map[string]any{"whatsapp_opt_in": 1})).Want(t, http.StatusBadRequest).Error(t)
		if len(e.Fields) != 1 || e.Fields[0] != (apitest.FieldError{Field: "whatsapp_opt_in", Message: "Must be a boolean."}) {
			t.Errorf("non-boolean consent: %+v", e)
		}
		if !me().WhatsAppOptIn {
			t.Error("a refused PATCH changed the consent")
		}
	})
}

// TestEvents_Payments: each paid payment writes its confirmation once,
// with the template's parameters, however often MyFatoorah's answer
// arrives; a user's first Enterprise subscription alerts the admins once,
// not on renewal. The clock stands at 22:00 UTC, already tomorrow in
// Kuwait, so the expiry must be a Kuwait date.
func TestEvents_Payments(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		s.Clock.Advance(13 * time.Hour) // 2025-03-01 22:00 UTC, 2025-03-02 01:00 in Kuwait
		c := s.NewClient()
		email := apitest.UniqueEmail("buyer")
		var u apitest.UserResponse
		c.Do(t, post("/api/v1/auth/register", consentRegistration("Fatima Al-Sabah", email, true))).Want(t, http.StatusCreated).JSON(t, &u)
		account := u.User.AccountID
		paid := func(p started) {
			t.Helper()
			c.Login(t, email, apitest.DefaultPassword, false)
			pid := s.pay(t, p.invoice)
			if q := s.browse(t, pid); q.Get("status") != "paid" {
				t.Fatalf("return: %v", q)
			}
			s.deliverSigned(t, p.invoice).Want(t, http.StatusOK) // the webhook comes too
			if q := s.browse(t, pid); q.Get("status") != "paid" {
				t.Fatalf("second return: %v", q)
			}
		}

		c.Login(t, email, apitest.DefaultPassword, false)
		top := s.topup(t, c, "topup-5k")
		paid(top)
		r := outbox(t, s.DB, fmt.Sprintf("topup_confirmed:payment:%d", top.PaymentID))
		if r.Audience != "user" || r.UserID.Int64 != u.User.ID || !cmp.Equal(r.Params, []string{"5000", "5000"}) {
			t.Errorf("topup_confirmed: %+v", r)
		}

		c.Login(t, email, apitest.DefaultPassword, false)
		ent := s.subscribe(t, c, "enterprise")
		paid(ent)
		r = outbox(t, s.DB, fmt.Sprintf("subscription_confirmed:payment:%d", ent.PaymentID))
		if want := []string{"Enterprise", "2025-04-01", "100000"}; !cmp.Equal(r.Params, want) {
			t.Errorf("subscription_confirmed params %q, want %q (plan, Kuwait date of the expiry, credits)", r.Params, want)
		}
		alert := fmt.Sprintf("enterprise_customer:user:%d", u.User.ID)
		r = outbox(t, s.DB, alert)
		if r.Audience != "admins" || r.Locale != "en" || !cmp.Equal(r.Params, []string{"Fatima Al-Sabah", email}) {
			t.Errorf("enterprise_customer: %+v", r)
		}

		s.Clock.Advance(24 * time.Hour)
		c.Login(t, email, apitest.DefaultPassword, false)
		renewal := s.subscribe(t, c, "enterprise")
		paid(renewal)
		r = outbox(t, s.DB, fmt.Sprintf("subscription_confirmed:payment:%d", renewal.PaymentID))
		if want := []string{"Enterprise", "2025-05-01", "100000"}; !cmp.Equal(r.Params, want) {
			t.Errorf("renewal's subscription_confirmed params %q, want %q", r.Params, want)
		}
		for event, want := range map[string]int64{"topup_confirmed": 1, "subscription_confirmed": 2, "enterprise_customer": 1, "welcome": 1} {
			if n := outboxCount(t, s.DB, event, account); n != want {
				t.Errorf("%d %s rows, want %d", n, event, want)
			}
		}

		// Pro is no Enterprise customer.
		pc, pu := s.SignUp(t, "pro")
		pro := s.subscribe(t, pc, "pro")
		pid := s.pay(t, pro.invoice)
		if q := s.browse(t, pid); q.Get("status") != "paid" {
			t.Fatalf("pro: %v", q)
		}
		if n := s.count(t, `SELECT COUNT(*) FROM notifications WHERE event = 'enterprise_customer' AND user_id = ?`, pu.ID); n != 0 {
			t.Errorf("a Pro subscription wrote %d enterprise_customer rows", n)
		}
		s.verify(t)
	})
}

// TestEvents_RenewalReminderByKuwaitDay: the reminder of a plan that ends
// on 1 April, Kuwait time (00:30, still 31 March in UTC), goes out from
// 09:00 Kuwait time on 29 March, not a minute before (nor at night, as
// 72 hours before the expiry would be), once; the next period, a renewal,
// is reminded again, once.
func TestEvents_RenewalReminderByKuwaitDay(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		kw := time.FixedZone("Kuwait", 3*60*60)
		start := time.Date(2025, 3, 2, 0, 30, 0, 0, kw) // 2025-03-01 21:30 UTC
		s.Clock.Advance(start.Sub(s.Clock.Now().Truncate(time.Second)))
		c, u := s.SignUp(t, "reminded")
		buy := func() started {
			t.Helper()
			c.Login(t, c.Email, apitest.DefaultPassword, false)
			p := s.subscribe(t, c, "pro")
			if q := s.browse(t, s.pay(t, p.invoice)); q.Get("status") != "paid" {
				t.Fatalf("paying: %v", q)
			}
			return p
		}
		remind := func() int {
			t.Helper()
			n, err := s.App.Billing.RemindRenewals(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		at := func(when time.Time) {
			t.Helper()
			s.Clock.Advance(when.Sub(s.Clock.Now()))
		}
		buy()
		var sub int64
		var expires time.Time
		if err := s.DB.SQL.QueryRow(`SELECT id, expires_at FROM subscriptions WHERE account_id = ? AND status = 'active'`, u.AccountID).Scan(&sub, &expires); err != nil {
			t.Fatal(err)
		}
		if got := expires.In(kw).Format("2006-01-02 15:04"); got != "2025-04-01 00:30" {
			t.Fatalf("expiry %s Kuwait time", got)
		}

		for _, when := range []time.Time{
			time.Date(2025, 3, 29, 0, 31, 0, 0, kw),  // 72 hours before: night, and two Kuwait days early
			time.Date(2025, 3, 29, 8, 59, 59, 0, kw), // a second before 09:00
		} {
			at(when)
			if n := remind(); n != 0 || outboxCount(t, s.DB, "renewal_reminder", u.AccountID) != 0 {
				t.Fatalf("a reminder at %s Kuwait time", when.Format(time.DateTime))
			}
		}
		at(time.Date(2025, 3, 29, 9, 0, 0, 0, kw))
		if n := remind(); n != 1 {
			t.Fatalf("at 09:00 three Kuwait days before: %d reminders, want 1", n)
		}
		r := outbox(t, s.DB, fmt.Sprintf("renewal_reminder:subscription:%d", sub))
		if want := []string{"Pro", "2025-04-01", publicURL + "/billing"}; !cmp.Equal(r.Params, want) || r.Audience != "user" || r.UserID.Int64 != u.ID {
			t.Errorf("reminder %+v, want params %q to the user", r, want)
		}
		s.Clock.Advance(11 * time.Minute)
		s.runJobs(t)
		if n := remind(); n != 0 || outboxCount(t, s.DB, "renewal_reminder", u.AccountID) != 1 {
			t.Fatal("the reminder was written again")
		}

		// Renewed before the expiry: a new period, ending 1 May at 00:30
		// Kuwait time, reminded from 09:00 on 28 April.
		buy()
		at(time.Date(2025, 4, 28, 8, 59, 0, 0, kw))
		if n := remind(); n != 0 {
			t.Fatalf("%d reminders of the renewal too early", n)
		}
		at(time.Date(2025, 4, 28, 9, 0, 0, 0, kw))
		if n := remind(); n != 1 {
			t.Fatalf("%d reminders of the renewal, want 1", n)
		}
		if n := remind(); n != 0 || outboxCount(t, s.DB, "renewal_reminder", u.AccountID) != 2 {
			t.Errorf("%d renewal_reminder rows, want 2 (one per period)", outboxCount(t, s.DB, "renewal_reminder", u.AccountID))
		}
	})
}
