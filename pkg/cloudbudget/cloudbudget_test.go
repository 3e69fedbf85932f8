package cloudbudget_test

import (
	"testing"
	"time"

	"github.com/resayil/portal/pkg/cloudbudget"
)

// The day turns at midnight Asia/Kuwait, 21:00 UTC the evening before.
func TestDayOf_TurnsAtMidnightKuwait(t *testing.T) {
	for _, c := range []struct {
		utc  time.Time
		want cloudbudget.Day
	}{
		{time.Date(2026, 3, 9, 20, 59, 59, 999_999_999, time.UTC), "2026-03-09"},
		{time.Date(2026, 3, 9, 21, 0, 0, 0, time.UTC), "2026-03-10"},
		{time.Date(2026, 12, 31, 21, 0, 0, 0, time.UTC), "2027-01-01"},
		{time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), "2026-03-10"},
	} {
		if got := cloudbudget.DayOf(c.utc); got != c.want {
			t.Errorf("DayOf(%s) = %s, want %s", c.utc, got, c.want)
		}
	}
	d := cloudbudget.Day("2026-03-10")
	if !d.Start().Equal(time.Date(2026, 3, 9, 21, 0, 0, 0, time.UTC)) || !d.Valid() {
		t.Fatalf("start of %s = %s", d, d.Start())
	}
}

func TestStateThresholds(t *testing.T) {
	st := cloudbudget.State{Cap: 500, Used: 399}
	if st.Reached(cloudbudget.Alert80) || st.Percent() != 79 {
		t.Fatal("399 of 500 is below 80 %")
	}
	st.Used = 400
	if !st.Reached(cloudbudget.Alert80) || st.Reached(cloudbudget.Alert100) || !st.Room() || st.Remaining() != 100 {
		t.Fatalf("%+v", st)
	}
	st.Used = 500
	if !st.Reached(cloudbudget.Alert100) || st.Room() {
		t.Fatalf("%+v", st)
	}
	if cloudbudget.Alert80.DedupeKey("2026-03-10") != "cloud_budget_80:2026-03-10" || cloudbudget.Alert100.Event() != "cloud_budget_100" {
		t.Fatal("alert names")
	}
}
