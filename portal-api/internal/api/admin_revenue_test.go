package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type revenuePeriod struct {
	Period string `json:"period"`
	RevTotals
}

type revenueReport struct {
	Granularity string          `json:"granularity"`
	From        string          `json:"from"`
	To          string          `json:"to"`
	Periods     []revenuePeriod `json:"periods"`
	Totals      RevTotals       `json:"totals"`
}

// TestAdminRevenue_ByPaidTimeAcrossAMonthBoundary: payments count in the
// Kuwait day and month they were paid, not created. A subscription
// created on 31 March (Kuwait), given up on (expired), then paid at 00:10
// on 1 April Kuwait time (still 31 March in UTC) counts on 1 April; a
// top-up paid at 23:50 on 31 March counts on 31 March; a payment held for
// review never counts.
func TestAdminRevenue_ByPaidTimeAcrossAMonthBoundary(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		c, _ := s.SignUp(t, "buyer")
		first := s.topup(t, c, "topup-5k") // paid 1 March, 12:00 Kuwait
		s.pay(t, first.invoice)
		s.deliverSigned(t, first.invoice).Want(t, http.StatusOK)

		// To 2025-03-31 20:30 UTC, 23:30 in Kuwait.
		s.Clock.Advance(time.Date(2025, 3, 31, 20, 30, 0, 0, time.UTC).Sub(s.Clock.Now()))
		relogin(t, c)
		late := s.subscribe(t, c, "pro")
		// The portal had given up on it: a late payment still counts.
		s.exec(t, "UPDATE payments SET status = 'expired' WHERE id = ?", late.PaymentID)
		s.Clock.Advance(20 * time.Minute) // 23:50 Kuwait
		relogin(t, c)
		before := s.topup(t, c, "topup-50k")
		s.pay(t, before.invoice)
		s.deliverSigned(t, before.invoice).Want(t, http.StatusOK)
		s.Clock.Advance(20 * time.Minute) // 00:10 on 1 April in Kuwait, 21:10 UTC on 31 March
		relogin(t, c, admin)
		s.pay(t, late.invoice)
		s.deliverSigned(t, late.invoice).Want(t, http.StatusOK)
		if st := s.paymentStatus(t, late.PaymentID); st != "paid" {
			t.Fatalf("late payment %s", st)
		}
		// Held for review: never revenue.
		held := s.topup(t, c, "topup-15k")
		if err := s.mf.OverrideAmount(held.invoice, 1, ""); err != nil {
			t.Fatal(err)
		}
		s.pay(t, held.invoice)
		s.deliverSigned(t, held.invoice).Want(t, http.StatusOK)

		kw := func(y int, m time.Month, d int) time.Time {
			return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(-3 * time.Hour)
		}
		opts := cmp.Options{cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })}

		var byDay revenueReport
		admin.Do(t, get("/api/v1/admin/revenue?granularity=day&from=2025-03-30&to=2025-04-01")).Want(t, http.StatusOK).JSON(t, &byDay)
		wantDay := revenueReport{Granularity: "day", From: "2025-03-30", To: "2025-04-01", Periods: []revenuePeriod{
			{"2025-03-30", RevTotals{From: kw(2025, 3, 30), To: kw(2025, 3, 31), Total: kwd(0), ByTier: tiers(0, 0, 0), Topups: kwd(0)}},
			{"2025-03-31", RevTotals{From: kw(2025, 3, 31), To: kw(2025, 4, 1), Total: kwd(20000), ByTier: tiers(0, 0, 0), Topups: kwd(20000), Payments: 1}},
			{"2025-04-01", RevTotals{From: kw(2025, 4, 1), To: kw(2025, 4, 2), Total: kwd(15000), ByTier: tiers(0, 15000, 0), Topups: kwd(0), Payments: 1}},
		}, Totals: RevTotals{From: kw(2025, 3, 30), To: kw(2025, 4, 2), Total: kwd(35000), ByTier: tiers(0, 15000, 0), Topups: kwd(20000), Payments: 2}}
		if d := cmp.Diff(wantDay, byDay, opts); d != "" {
			t.Errorf("by day (-want +got):\n%s", d)
		}

		var byMonth revenueReport
		admin.Do(t, get("/api/v1/admin/revenue?granularity=month&from=2025-03&to=2025-04")).Want(t, http.StatusOK).JSON(t, &byMonth)
		wantMonth := revenueReport{Granularity: "month", From: "2025-03", To: "2025-04", Periods: []revenuePeriod{
			{"2025-03", RevTotals{From: kw(2025, 3, 1), To: kw(2025, 4, 1), Total: kwd(22500), ByTier: tiers(0, 0, 0), Topups: kwd(22500), Payments: 2}},
			{"2025-04", RevTotals{From: kw(2025, 4, 1), To: kw(2025, 5, 1), Total: kwd(15000), ByTier: tiers(0, 15000, 0), Topups: kwd(0), Payments: 1}},
		}, Totals: RevTotals{From: kw(2025, 3, 1), To: kw(2025, 5, 1), Total: kwd(37500), ByTier: tiers(0, 15000, 0), Topups: kwd(22500), Payments: 3}}
		if d := cmp.Diff(wantMonth, byMonth, opts); d != "" {
			t.Errorf("by month (-want +got):\n%s", d)
		}

		// The defaults: the last 30 Kuwait days (today is 1 April there),
		// and the last 12 months.
		var def revenueReport
		admin.Do(t, get("/api/v1/admin/revenue")).Want(t, http.StatusOK).JSON(t, &def)
		if def.Granularity != "day" || def.From != "2025-03-03" || def.To != "2025-04-01" || len(def.Periods) != 30 || def.Totals.Total.Fils != 35000 {
			t.Errorf("default: %s %s..%s, %d periods, total %d", def.Granularity, def.From, def.To, len(def.Periods), def.Totals.Total.Fils)
		}
		admin.Do(t, get("/api/v1/admin/revenue?granularity=month")).Want(t, http.StatusOK).JSON(t, &def)
		if def.From != "2024-05" || def.To != "2025-04" || len(def.Periods) != 12 || def.Totals.Total.Fils != 37500 {
			t.Errorf("default by month: %s..%s, %d periods, total %d", def.From, def.To, len(def.Periods), def.Totals.Total.Fils)
		}
	})
}

// TestAdminRevenue_Validation names each bad parameter.
func TestAdminRevenue_Validation(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		for q, fields := range map[string][]string{
			"granularity=week":                           {"granularity"},
			"from=2025-3-01":                             {"from"},
			"from=2025-02-30":                            {"from"},
			"to=yesterday":                               {"to"},
			"from=x&to=y":                                {"from", "to"},
			"from=2025-03-02&to=2025-03-01":              {"to"},
			"from=2024-01-01&to=2025-01-01":              {"to"}, // 367 days
			"granularity=month&from=2025-03-01":          {"from"},
			"granularity=month&from=2022-01&to=2025-01":  {"to"}, // 37 months
			"granularity=day&from=2025-01-01&to=2025-13": {"to"},
		} {
			res := admin.Do(t, get("/api/v1/admin/revenue?"+q))
			if res.Status != http.StatusBadRequest {
				t.Errorf("%s: %d", q, res.Status)
				continue
			}
			e := res.Error(t)
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if e.Code != "invalid" || !cmp.Equal(got, fields) {
				t.Errorf("%s: %+v", q, e)
			}
		}
		// The longest ranges pass.
		for _, q := range []string{"from=2024-01-01&to=2024-12-31", "granularity=month&from=2022-02&to=2025-01"} {
			var r revenueReport
			admin.Do(t, get("/api/v1/admin/revenue?"+q)).Want(t, http.StatusOK).JSON(t, &r)
			if n := len(r.Periods); n != 366 && n != 36 {
				t.Errorf("%s: %d periods", q, n)
			}
		}
	})
}
