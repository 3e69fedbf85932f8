package app

import (
	"time"

	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetredis"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetsql"
	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/portal-api/internal/admin"
)

// OverviewConfig is what the admin overview shares with the gateways.
type OverviewConfig struct {
	// CloudDailyBudget is the gateways' default daily cap of cloud
	// requests: a day nobody has written yet shows it.
	CloudDailyBudget int64 `env:"CLOUD_DAILY_BUDGET" envDefault:"500"`
}

// cloudBudget opens the cloud budget the gateways count in: Redis in
// Redis mode, the cloud_budget_days rows in embedded mode.
func (a *App) cloudBudget(now func() time.Time) (cloudbudget.Store, error) {
	if err := cloudbudget.CheckCap(a.cfg.CloudDailyBudget); err != nil {
		return nil, config.Invalid("CLOUD_DAILY_BUDGET", "must be a whole number from 0 to %d, got %d", cloudbudget.MaxCap, a.cfg.CloudDailyBudget)
	}
	if a.Redis != nil {
		st, err := cloudbudgetredis.New(a.Redis, cloudbudgetredis.Config{Prefix: a.cfg.RedisPrefix, DefaultCap: a.cfg.CloudDailyBudget})
		if err != nil {
			return nil, config.Invalid("REDIS_PREFIX", "%v", err)
		}
		return st, nil
	}
	st, err := cloudbudgetsql.New(a.DB, cloudbudgetsql.Config{DefaultCap: a.cfg.CloudDailyBudget, Now: now})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// reports builds the admin overview and revenue reports.
func (a *App) reports(now func() time.Time) (*admin.Reports, error) {
	budget, err := a.cloudBudget(now)
	if err != nil {
		return nil, err
	}
	return admin.NewReports(a.Store, budget, now), nil
}
