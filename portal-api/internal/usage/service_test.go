package usage_test

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/usage"
)

// rangeStore records the range it is asked for.
type rangeStore struct {
	from, to time.Time
	rows     []usage.HourRow
}

func (s *rangeStore) UsageHours(_ context.Context, _ resayil.AccountID, from, to time.Time) ([]usage.HourRow, error) {
	s.from, s.to = from, to
	return s.rows, nil
}

func (s *rangeStore) UsageModels(_ context.Context, _ resayil.AccountID, from, to time.Time) ([]usage.ModelRow, error) {
	s.from, s.to = from, to
	return nil, nil
}

func (s *rangeStore) Receipts(context.Context, resayil.AccountID, usage.Filter, usage.Cursor, int) ([]usage.Receipt, error) {
	return nil, nil
}

func TestCursor_RoundTrip(t *testing.T) {
	c := usage.Cursor{At: time.Date(2026, 12, 7, 20, 0, 1, 123456789, time.UTC), ID: 42}
	got, ok := usage.ParseCursor(c.Encode())
	if !ok || !got.At.Equal(c.At) || got.ID != 42 {
		t.Fatalf("round trip: %+v %v", got, ok)
	}
	for _, bad := range []string{"", "x", "cjEuMS4w", "!!!"} {
		if _, ok := usage.ParseCursor(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestSummary_KuwaitDayBuckets: a day bucket starts at 21:00 UTC, and a
// range is widened to whole Kuwait days before the store is asked.
func TestSummary_KuwaitDayBuckets(t *testing.T) {
	st := &rangeStore{rows: []usage.HourRow{
		{Hour: time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC), Totals: usage.Totals{Requests: 1}}, // 23:00 on the 6th in Kuwait
		{Hour: time.Date(2026, 12, 6, 21, 0, 0, 0, time.UTC), Totals: usage.Totals{Requests: 2}}, // 00:00 on the 7th
	}}
	s := usage.New(st, func() time.Time { return time.Date(2026, 12, 7, 20, 37, 0, 0, time.UTC) })
	sum, err := s.Summary(context.Background(), 1, usage.SummaryQuery{RangeQuery: usage.RangeQuery{From: "2026-12-06T12:00:00Z", To: "2026-12-07T12:00:00Z"}})
	if err != nil {
		t.Fatal(err)
	}
	wantFrom, wantTo := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC), time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	if !st.from.Equal(wantFrom) || !st.to.Equal(wantTo) || len(sum.Buckets) != 2 {
		t.Fatalf("asked %s – %s, %d buckets", st.from, st.to, len(sum.Buckets))
	}
	if sum.Buckets[0].Requests != 1 || sum.Buckets[1].Requests != 2 || !sum.Buckets[1].Start.Equal(wantFrom.Add(24*time.Hour)) {
		t.Errorf("buckets %+v", sum.Buckets)
	}
}
