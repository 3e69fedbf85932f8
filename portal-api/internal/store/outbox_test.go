package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetsql"
	"github.com/resayil/portal/pkg/testenv"
)

// TestCloudBudgetAlerts_FitTheirTemplates: the gateway writes the budget
// alerts (cloudbudgetsql.Outbox) into the same outbox, once per day and
// threshold however often it notices; their parameters are one half's of
// the registered template, in its order ({{1}} used, {{2}} cap; {{1}} cap).
func TestCloudBudgetAlerts_FitTheirTemplates(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			s := New(db)
			ctx := context.Background()
			if _, err := s.Seed(ctx, AdminSeed{}); err != nil {
				t.Fatal(err)
			}
			o := cloudbudgetsql.NewOutbox(db, cloudbudgetsql.OutboxConfig{})
			day := cloudbudget.DayOf(time.Date(2025, 3, 1, 22, 0, 0, 0, time.UTC))
			for range 2 {
				for _, a := range []struct {
					st cloudbudget.State
					th cloudbudget.Threshold
				}{
					{cloudbudget.State{Day: day, Cap: 500, Used: 400}, cloudbudget.Alert80},
					{cloudbudget.State{Day: day, Cap: 500, Used: 500}, cloudbudget.Alert100},
				} {
					if _, err := o.RecordAlert(ctx, a.st, a.th); err != nil {
						t.Fatal(err)
					}
				}
			}
			reg := registry(t, s)
			for event, want := range map[string][]string{"cloud_budget_80": {"400", "500"}, "cloud_budget_100": {"500"}} {
				var rows []notificationRow
				if err := s.conn(ctx).Where("event = ?", event).Find(&rows).Error; err != nil {
					t.Fatal(err)
				}
				if len(rows) != 1 || rows[0].DedupeKey != event+":"+string(day) || rows[0].Audience != AudienceAdmins {
					t.Fatalf("%s: %+v, want one admin alert for %s", event, rows, day)
				}
				var p notificationPayload
				if err := json.Unmarshal([]byte(rows[0].Payload), &p); err != nil {
					t.Fatal(err)
				}
				if !cmp.Equal(p.Params, want) || len(p.Params)*2 != reg[event].params {
					t.Errorf("%s params %q, want %q for a template of %d", event, p.Params, want, reg[event].params)
				}
			}
		})
	}
}
