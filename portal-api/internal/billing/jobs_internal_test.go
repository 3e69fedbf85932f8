package billing

import (
	"testing"
	"time"
)

// TestRemindBefore: the expiries due a reminder grow by one Kuwait day at
// 09:00 Kuwait time, across month and year ends.
func TestRemindBefore(t *testing.T) {
	kw := time.FixedZone("Kuwait", 3*60*60)
	for _, tc := range []struct {
		now, want time.Time
	}{
		{time.Date(2025, 3, 29, 8, 59, 59, 999999000, kw), time.Date(2025, 4, 1, 0, 0, 0, 0, kw)},
		{time.Date(2025, 3, 29, 9, 0, 0, 0, kw), time.Date(2025, 4, 2, 0, 0, 0, 0, kw)},
		{time.Date(2025, 3, 29, 23, 59, 0, 0, kw), time.Date(2025, 4, 2, 0, 0, 0, 0, kw)},
		{time.Date(2025, 3, 30, 0, 30, 0, 0, kw), time.Date(2025, 4, 2, 0, 0, 0, 0, kw)}, // still the 29th's reminders until 09:00
		{time.Date(2025, 12, 29, 9, 0, 0, 0, kw), time.Date(2026, 1, 2, 0, 0, 0, 0, kw)},
		{time.Date(2025, 3, 29, 6, 0, 0, 0, time.UTC), time.Date(2025, 4, 2, 0, 0, 0, 0, kw)}, // 09:00 Kuwait, given in UTC
	} {
		got := remindBefore(tc.now, 3)
		if !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("remindBefore(%s) = %s, want %s in UTC", tc.now, got, tc.want.UTC())
		}
	}
}
