package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/accountevents/accounteventssql"
	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetredis"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetsql"
	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/portal-api/internal/app"
)

const cloudBudgetUsage = "usage: portal-api cloud-budget show | cloud-budget set --today N"

// budgetSettings are the gateway's variables this command must agree on:
// the default daily cap (a day nobody has written yet shows it) and the
// Redis key prefix.
type budgetSettings struct {
	DefaultCap int64  `env:"CLOUD_DAILY_BUDGET" envDefault:"500"`
	Prefix     string `env:"REDIS_PREFIX"`
}

// cloudBudgetCmd runs `cloud-budget show` and `cloud-budget set --today N`.
// The store is the one the gateways count in (Redis in Redis mode, the
// cloud_budget_days row in embedded mode); set then publishes
// cloud_budget_changed so that every gateway re-reads today's cap within
// 5 s.
func cloudBudgetCmd(ctx context.Context, cfg *app.Config, log *slog.Logger, environ, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(cloudBudgetUsage)
	}
	var limit int64 = -1
	switch args[0] {
	case "show":
		if len(args) > 1 {
			return fmt.Errorf("cloud-budget show: unexpected argument %q\n%s", args[1], cloudBudgetUsage)
		}
	case "set":
		fs := flag.NewFlagSet("cloud-budget set", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		today := fs.String("today", "", "today's cap of cloud requests")
		if err := fs.Parse(args[1:]); err != nil {
			return fmt.Errorf("cloud-budget set: %w\n%s", err, cloudBudgetUsage)
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("cloud-budget set: unexpected argument %q\n%s", fs.Arg(0), cloudBudgetUsage)
		}
		if *today == "" {
			return errors.New("cloud-budget set: --today is required\n" + cloudBudgetUsage)
		}
		n, err := strconv.ParseInt(strings.TrimSpace(*today), 10, 64)
		if err != nil || cloudbudget.CheckCap(n) != nil {
			return fmt.Errorf("cloud-budget set: --today must be a whole number from 0 (cloud off) to %d, got %q", cloudbudget.MaxCap, *today)
		}
		limit = n
	default:
		return fmt.Errorf("unknown cloud-budget command %q\n%s", args[0], cloudBudgetUsage)
	}

	var bs budgetSettings
	if err := config.Load(&bs, environ); err != nil {
		return err
	}
	if err := cloudbudget.CheckCap(bs.DefaultCap); err != nil {
		return config.Invalid("CLOUD_DAILY_BUDGET", "must be a whole number from 0 to %d, got %d", cloudbudget.MaxCap, bs.DefaultCap)
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	var store cloudbudget.Store
	var pub accountevents.Publisher
	via := "the database"
	if a.Redis != nil {
		if store, err = cloudbudgetredis.New(a.Redis, cloudbudgetredis.Config{Prefix: bs.Prefix, DefaultCap: bs.DefaultCap}); err != nil {
			return config.Invalid("REDIS_PREFIX", "%v", err)
		}
		pub, via = accounteventsredis.New(a.Redis, accounteventsredis.Config{Prefix: bs.Prefix}), "redis"
	} else {
		if store, err = cloudbudgetsql.New(a.DB, cloudbudgetsql.Config{DefaultCap: bs.DefaultCap}); err != nil {
			return err
		}
		pub = accounteventssql.New(a.DB.SQL, accounteventssql.Config{})
	}
	day := cloudbudget.DayOf(time.Now())
	if limit < 0 {
		st, err := store.Get(ctx, day)
		if err != nil {
			return fmt.Errorf("cloud-budget show: %w", err)
		}
		alerts, err := cloudbudgetsql.NewOutbox(a.DB, cloudbudgetsql.OutboxConfig{}).Alerts(ctx, day)
		if err != nil {
			return fmt.Errorf("cloud-budget show: %w", err)
		}
		fmt.Fprintln(stdout, budgetLine(st, alerts))
		return nil
	}
	before, err := store.Get(ctx, day)
	if err != nil {
		return fmt.Errorf("cloud-budget set: %w", err)
	}
	st, err := store.SetCap(ctx, day, limit)
	if err != nil {
		return fmt.Errorf("cloud-budget set: %w", err)
	}
	details, _ := json.Marshal(map[string]any{"day": day, "cap": st.Cap, "previous_cap": before.Cap, "used": st.Used})
	if _, err := a.DB.SQL.ExecContext(ctx, `INSERT INTO audit_log (actor, action, target_type, target_id, details, created_at) VALUES (?, 'cloud_budget.set', 'cloud_budget', ?, ?, ?)`,
		cliActor, string(day), string(details), time.Now().UTC()); err != nil {
		log.Warn("cloud-budget set: audit log", "err", err)
	}
	notified := "gateways notified through " + via
	if err := pub.Publish(ctx, accountevents.Event{Kind: accountevents.KindCloudBudgetChanged}); err != nil {
		notified = "gateways NOT notified (" + err.Error() + "): they re-read the budget within 5 s anyway"
	}
	fmt.Fprintf(stdout, "today's cap set to %d (was %d); %s; %s\n", st.Cap, before.Cap, budgetLine(st, nil), notified)
	return nil
}

// budgetLine describes a day's budget in one line.
func budgetLine(st cloudbudget.State, alerts map[cloudbudget.Threshold]time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "cloud budget %s (Asia/Kuwait): %d of %d requests used (%d%%), %d left", st.Day, st.Used, st.Cap, st.Percent(), st.Remaining())
	if !st.Room() {
		b.WriteString("; cloud off until midnight Asia/Kuwait or a higher cap")
	}
	for _, th := range cloudbudget.Thresholds {
		if at, ok := alerts[th]; ok {
			fmt.Fprintf(&b, "; %d%% alert at %s", int(th), at.UTC().Format(time.RFC3339))
		}
	}
	return b.String()
}
