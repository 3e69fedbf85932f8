// Package api is portal-api's HTTP adapter: the Fiber app, its one route
// table, authentication middleware, DTOs with named converters, and the
// rendering of domain errors as {"error":{"code","message","fields"}}.
package api

import (
	"log/slog"
	"net/netip"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"

	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/apikey"
	"github.com/resayil/portal/portal-api/internal/billing"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// Deps is what the HTTP layer needs; internal/app builds it.
type Deps struct {
	Logger  *slog.Logger
	Checks  []httpserver.Check
	Origins []string
	// Accounts and Keys serve the account and API-key routes.
	Accounts *account.Service
	Keys     *apikey.Service
	// Billing serves plans, checkout, payments and MyFatoorah's return and
	// webhook; Ledger the admin's credit adjustments.
	Billing *billing.Service
	Ledger  *ledger.Service
	// SecureCookies marks the refresh cookie Secure (everywhere but
	// development, which runs on plain http://localhost).
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; without them the peer address is the client.
	TrustedProxies []netip.Prefix
}

// New builds the portal's Fiber app with every route.
func New(d Deps) *fiber.App {
	app := httpserver.New(httpserver.Options{
		Name:         "portal-api",
		Logger:       d.Logger,
		BodyLimit:    1 << 20,
		ErrorHandler: ErrorHandler(d.Logger),
		AccessLog:    true,
	})
	if len(d.Origins) > 0 {
		app.Use(cors.New(cors.Config{
			AllowOrigins:     joinOrigins(d.Origins),
			AllowCredentials: true,
			AllowHeaders:     "Authorization, Content-Type, X-Request-Id",
			ExposeHeaders:    "X-Request-Id, Retry-After",
		}))
	}
	httpserver.MountHealth(app, d.Checks)
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handlers{
		accounts: d.Accounts,
		keys:     d.Keys,
		billing:  d.Billing,
		ledger:   d.Ledger,
		log:      log,
		secure:   d.SecureCookies,
		ips:      ipResolver{trusted: d.TrustedProxies},
	}
	mount(app, h)
	return app
}

// handlers holds what the route handlers share.
type handlers struct {
	accounts *account.Service
	keys     *apikey.Service
	billing  *billing.Service
	ledger   *ledger.Service
	log      *slog.Logger
	secure   bool
	ips      ipResolver
}

func joinOrigins(o []string) string {
	s := ""
	for i, v := range o {
		if i > 0 {
			s += ","
		}
		s += v
	}
	return s
}
