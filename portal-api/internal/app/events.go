package app

import (
	"context"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/accountevents/accounteventssql"
	"github.com/resayil/portal/pkg/resayil"
)

// Events returns the publisher the gateways listen to: Redis pub/sub when
// Redis is configured, else the account_events table they poll.
func (a *App) Events() accountevents.Publisher {
	if a.Redis != nil {
		return accounteventsredis.New(a.Redis, accounteventsredis.Config{Prefix: a.cfg.RedisPrefix, Logger: a.log})
	}
	return accounteventssql.New(a.DB.SQL, accounteventssql.Config{Logger: a.log})
}

// EventsVia names where Events publishes, for operator output.
func (a *App) EventsVia() string {
	if a.Redis != nil {
		return "redis"
	}
	return "the database"
}

// keyEvents adapts accountevents to the apikey feature's narrow interface.
type keyEvents struct{ p accountevents.Publisher }

func (k keyEvents) Publish(ctx context.Context, kind string, account resayil.AccountID, subject string) error {
	return k.p.Publish(ctx, accountevents.Event{Kind: accountevents.Kind(kind), Account: account, Subject: subject})
}
