package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetredis"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetsql"
	"github.com/resayil/portal/pkg/testenv"
)

// The command reads and writes the store the gateways count in, and a new
// cap reaches them through a cloud_budget_changed event.
func TestCloudBudget_ShowAndSet(t *testing.T) {
	for _, b := range testenv.Backends {
		for _, withRedis := range []bool{false, true} {
			name := string(b) + "/embedded"
			if withRedis {
				name = string(b) + "/redis"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := newLedgerCLI(t, b, withRedis)
				ctx := context.Background()
				today := cloudbudget.DayOf(time.Now())
				c.mustRun(fmt.Sprintf("cloud budget %s (Asia/Kuwait): 0 of 500 requests used (0%%), 500 left", today), "cloud-budget", "show")

				c.env = append(c.env, "RESAYIL_CLOUD_DAILY_BUDGET=3")
				// What a gateway of this deployment counts in.
				var gw cloudbudget.Store
				var err error
				if withRedis {
					gw, err = cloudbudgetredis.New(c.redis.Client, cloudbudgetredis.Config{Prefix: c.redis.Prefix, DefaultCap: 3})
				} else {
					gw, err = cloudbudgetsql.New(c.db, cloudbudgetsql.Config{DefaultCap: 3})
				}
				if err != nil {
					t.Fatal(err)
				}
				for range 4 {
					if _, _, err := gw.Take(ctx, today); err != nil {
						t.Fatal(err)
					}
				}
				st, err := gw.Get(ctx, today)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := cloudbudgetsql.NewOutbox(c.db, cloudbudgetsql.OutboxConfig{}).RecordAlert(ctx, st, cloudbudget.Alert100); err != nil {
					t.Fatal(err)
				}
				out := c.mustRun("3 of 3 requests used (100%), 0 left; cloud off until midnight", "cloud-budget", "show")
				if !strings.Contains(out, "; 100% alert at ") {
					t.Fatalf("show lacks the alert: %s", out)
				}

				events := c.events()
				via := "the database"
				if withRedis {
					via = "redis"
				}
				c.mustRun("today's cap set to 10 (was 3); cloud budget "+string(today)+" (Asia/Kuwait): 3 of 10 requests used (30%), 7 left; gateways notified through "+via,
					"cloud-budget", "set", "--today", "10")
				c.waitFor(events, accountevents.KindCloudBudgetChanged, 0)
				if st, ok, err := gw.Take(ctx, today); err != nil || !ok || st.Cap != 10 || st.Used != 4 {
					t.Fatalf("the gateways' store after set: %+v %v %v", st, ok, err)
				}
				if n := c.count(`SELECT COUNT(*) FROM audit_log WHERE actor = 'cli' AND action = 'cloud_budget.set' AND target_id = ? AND details LIKE '%"previous_cap":3%'`, string(today)); n != 1 {
					t.Fatalf("%d audit rows", n)
				}
				c.mustRun("today's cap set to 0 (was 10)", "cloud-budget", "set", "--today", "0")
				c.mustRun("4 of 0 requests used (100%), 0 left; cloud off", "cloud-budget", "show")
			})
		}
	}
}

func TestCloudBudget_RefusesBadArguments(t *testing.T) {
	c := newLedgerCLI(t, testenv.SQLiteBackend, false)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cloud-budget"}, "usage: portal-api cloud-budget"},
		{[]string{"cloud-budget", "reset"}, `unknown cloud-budget command "reset"`},
		{[]string{"cloud-budget", "show", "now"}, `unexpected argument "now"`},
		{[]string{"cloud-budget", "set"}, "--today is required"},
		{[]string{"cloud-budget", "set", "--today", "-1"}, "--today must be a whole number from 0"},
		{[]string{"cloud-budget", "set", "--today", "lots"}, "--today must be a whole number from 0"},
		{[]string{"cloud-budget", "set", "--today", "5", "extra"}, `unexpected argument "extra"`},
		{[]string{"cloud-budget", "set", "--tomorrow", "5"}, "flag provided but not defined"},
	} {
		c.mustFail(tc.want, tc.args...)
	}
	if n := c.count(`SELECT COUNT(*) FROM cloud_budget_days`); n != 0 {
		t.Fatalf("a refused command wrote %d days", n)
	}
}
