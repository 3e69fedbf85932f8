package cloudbudgetsql_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetsql"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgettest"
	"github.com/resayil/portal/pkg/testenv"
)

func TestConformance(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, backend)
			cloudbudgettest.RunConformance(t, func(t *testing.T, defaultCap int64) cloudbudget.Store {
				s, err := cloudbudgetsql.New(db, cloudbudgetsql.Config{DefaultCap: defaultCap})
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

// Many gateways noticing the same threshold concurrently record one
// notification; the day's row carries the alert's time.
func TestOutbox_AlertOncePerDayAndThreshold(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := testenv.Open(t, backend)
			o := cloudbudgetsql.NewOutbox(db, cloudbudgetsql.OutboxConfig{})
			d := cloudbudgettest.NewDay(t)
			st := cloudbudget.State{Day: d, Cap: 500, Used: 400}
			var wg sync.WaitGroup
			var mu sync.Mutex
			inserted := 0
			for range 20 {
				wg.Go(func() {
					ok, err := o.RecordAlert(ctx, st, cloudbudget.Alert80)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						inserted++
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if inserted != 1 {
				t.Fatalf("%d calls inserted the alert, want 1", inserted)
			}
			if _, err := o.RecordAlert(ctx, cloudbudget.State{Day: d, Cap: 500, Used: 100}, cloudbudget.Alert100); err == nil {
				t.Fatal("an alert below its threshold was recorded")
			}
			if ok, err := o.RecordAlert(ctx, cloudbudget.State{Day: d, Cap: 500, Used: 500}, cloudbudget.Alert100); err != nil || !ok {
				t.Fatalf("100%% alert: %v %v", ok, err)
			}
			var n int
			var event, audience, status, payload string
			if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM notifications WHERE dedupe_key = ?`, "cloud_budget_80:"+string(d)).Scan(&n); err != nil || n != 1 {
				t.Fatalf("%d rows, %v", n, err)
			}
			if err := db.SQL.QueryRow(`SELECT event, audience, status, payload FROM notifications WHERE dedupe_key = ?`, "cloud_budget_100:"+string(d)).
				Scan(&event, &audience, &status, &payload); err != nil {
				t.Fatal(err)
			}
			var p cloudbudgetsql.AlertPayload
			if err := json.Unmarshal([]byte(payload), &p); err != nil {
				t.Fatal(err)
			}
			if event != "cloud_budget_100" || audience != "admins" || status != "pending" || p.Day != d || p.Used != 500 || p.Cap != 500 || p.Percent != 100 || len(p.Params) != 1 || p.Params[0] != "500" {
				t.Fatalf("row %s %s %s %+v", event, audience, status, p)
			}
			alerts, err := o.Alerts(ctx, d)
			if err != nil || len(alerts) != 2 {
				t.Fatalf("alerts %v %v", alerts, err)
			}
		})
	}
}

// Mirror writes Redis-mode days: the cap as given, the count never lower.
func TestOutbox_Mirror(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.SQLite(t)
	o := cloudbudgetsql.NewOutbox(db, cloudbudgetsql.OutboxConfig{})
	s, err := cloudbudgetsql.New(db, cloudbudgetsql.Config{DefaultCap: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := cloudbudgettest.NewDay(t)
	for _, st := range []cloudbudget.State{{Day: d, Cap: 500, Used: 10}, {Day: d, Cap: 600, Used: 7}} {
		if err := o.Mirror(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := s.Get(ctx, d); err != nil || st.Cap != 600 || st.Used != 10 {
		t.Fatalf("mirrored %+v %v", st, err)
	}
}
