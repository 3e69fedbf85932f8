package app

import (
	"context"
	"time"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
	"github.com/resayil/portal/portal-api/internal/billing"
	"github.com/resayil/portal/portal-api/internal/billing/myfatoorah"
	"github.com/resayil/portal/portal-api/internal/jobs"
	"github.com/resayil/portal/portal-api/internal/ledger"
	"github.com/resayil/portal/portal-api/internal/ledger/ledgerredis"
)

// Periods of the jobs Serve runs (see package jobs).
const (
	// JobTick is how often the scheduler looks for due jobs.
	JobTick = 5 * time.Second
	// ExpireEvery: a subscription ends (and the gateways hear of it) at
	// most this long after its expiry; gateways already treat an expired
	// plan as Basic from its expiry on, by its cached expiry time.
	ExpireEvery = 30 * time.Second
	// RemindEvery: renewal reminders are written this often.
	RemindEvery = 10 * time.Minute
)

// buildBilling wires the ledger, billing with its MyFatoorah adapter, and
// the jobs. In Redis mode the live wallet is walletredis (grants are
// committed first, then applied live by reference); in embedded mode the
// database is the wallet.
func (a *App) buildBilling(now func() time.Time) error {
	lc := ledger.Config{Store: a.Store, Events: a.Events(), Now: now, Log: a.log, TopUpURL: wallet.TopUpURL(a.cfg.PublicURL)}
	var balances billing.Balances
	if a.Redis != nil {
		live, err := walletredis.New(a.Redis, walletsql.NewLoader(a.DB), walletredis.Config{Prefix: a.cfg.RedisPrefix})
		if err != nil {
			return config.Invalid("REDIS_PREFIX", "%v", err)
		}
		a.live, balances = live, live
		lc.Live, lc.Usage = live, ledgerredis.NewUsage(a.Redis, live.Keys())
	} else {
		balances = walletsql.New(a.DB, walletsql.Config{Now: now})
	}
	var err error
	if a.Ledger, err = ledger.New(lc); err != nil {
		return err
	}
	mf := myfatoorah.New(myfatoorah.Config{
		BaseURL: a.cfg.MyFatoorahBaseURL, Token: a.cfg.MyFatoorahToken.Reveal(),
		WebhookSecret: a.cfg.MyFatoorahWebhookSecret.Reveal(), Log: a.log,
	})
	bc := billing.Config{
		Store: a.Store.Billing(), Gateway: mf, Webhooks: mf, Balances: balances, Events: a.Events(),
		PublicURL: a.cfg.PublicURL, MaxPendingCheckouts: a.cfg.MaxPendingCheckouts, Now: now, Log: a.log,
	}
	if a.live != nil {
		bc.Live = a.Ledger
	}
	if a.Billing, err = billing.New(bc); err != nil {
		return err
	}
	if a.cfg.MyFatoorahWebhookSecret == "" {
		a.log.Warn("RESAYIL_MYFATOORAH_WEBHOOK_SECRET is empty: MyFatoorah webhooks are refused; payments are confirmed by the browser's return and the 5-minute re-check")
	}
	b := a.Billing
	a.Jobs, err = jobs.New(jobs.Config{Now: now, Log: a.log},
		jobs.Job{Name: "billing.recheck-payments", Every: billing.DefaultRecheckEvery, Run: func(ctx context.Context) error {
			_, err := b.RecheckPayments(ctx)
			return err
		}},
		jobs.Job{Name: "billing.expire-subscriptions", Every: ExpireEvery, Run: func(ctx context.Context) error {
			_, err := b.ExpireSubscriptions(ctx)
			return err
		}},
		jobs.Job{Name: "billing.renewal-reminders", Every: RemindEvery, Run: func(ctx context.Context) error {
			_, err := b.RemindRenewals(ctx)
			return err
		}},
	)
	return err
}
