// Package api is portal-api's HTTP adapter: the Fiber app, its one route
// table, authentication middleware, DTOs with named converters, and the
// rendering of domain errors as {"error":{"code","message","fields"}}.
package api

import (
	"log/slog"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"

	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/admin"
	"github.com/resayil/portal/portal-api/internal/apikey"
	"github.com/resayil/portal/portal-api/internal/billing"
	"github.com/resayil/portal/portal-api/internal/capacity"
	"github.com/resayil/portal/portal-api/internal/ipban"
	"github.com/resayil/portal/portal-api/internal/ledger"
	"github.com/resayil/portal/portal-api/internal/usage"
)

// Deps is what the HTTP layer needs; internal/app builds it.
type Deps struct {
	Logger  *slog.Logger
	Checks  []httpserver.Check
	Origins []string
	// Accounts and Keys serve the account and API-key routes.
	Accounts *account.Service
	Keys     *apikey.Service
	// Resets serves the password-reset routes.
	Resets *account.ResetService
	// Billing serves plans, checkout, payments and MyFatoorah's return and
	// webhook; Ledger the admin's credit adjustments.
	Billing *billing.Service
	Ledger  *ledger.Service
	// Usage serves the usage routes.
	Usage *usage.Service
	// SecureCookies marks the refresh cookie Secure (everywhere but
	// development, which runs on plain http://localhost).
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; without them the peer address is the client.
	TrustedProxies []netip.Prefix
	// ReturnLimiter and ReturnLimit throttle, per client IP, the
	// MyFatoorah calls the unauthenticated return route makes; a nil
	// limiter does not throttle.
	ReturnLimiter ratelimit.Limiter
	ReturnLimit   ratelimit.Limit
	// HSTS adds Strict-Transport-Security to every answer (the public URL
	// is https).
	HSTS bool
	// Catalog is the gateway's model catalog, for GET /api/v1/models.
	Catalog *catalog.File
	// GatewayURL is the gateway's public base URL, for GET /api/v1/config.
	GatewayURL string
	// Notifications serve the notifications admin routes and the
	// WhatsApp webhook.
	Notifications NotificationDeps
	// Capacity reads the gateways' heartbeats for the admin console; nil
	// answers "unknown".
	Capacity *capacity.Reader
	// Admin serves the admin console's accounts and users.
	Admin *admin.Service
	// Reports serve the admin overview and revenue; Payments the admin's
	// payment pages (resolving goes through Billing).
	Reports  *admin.Reports
	Payments *admin.Payments
	// Actions disable and enable accounts and read the audit log.
	Actions *admin.Actions
	// InternalToken authenticates the internal routes (fail2ban's ban
	// reports, recorded by IPBans); empty, or without IPBans, they answer
	// 403.
	InternalToken string
	IPBans        *ipban.Alerts
	// AuthFailures gets a line per wrong internal token (the account
	// service writes the rest); nil writes none.
	AuthFailures *authlog.Logger
	// StaticDir is the built web app, served on the same origin for every
	// path outside /api (static.go); empty or without index.html, none.
	StaticDir string
}

// New builds the portal's Fiber app with every route.
func New(d Deps) *fiber.App {
	headers := newSecurityHeaders(d.HSTS)
	app := httpserver.New(httpserver.Options{
		Name:         "portal-api",
		Logger:       d.Logger,
		BodyLimit:    1 << 20,
		ErrorHandler: headers.errorHandler(ErrorHandler(d.Logger)),
		AccessLog:    true,
	})
	// Before CORS, whose preflight answers without calling the next handler.
	app.Use(headers.middleware)
	if len(d.Origins) > 0 {
		app.Use(cors.New(cors.Config{
			AllowOrigins:     strings.Join(d.Origins, ","),
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
		resets:   d.Resets,
		billing:  d.Billing,
		ledger:   d.Ledger,
		usage:    d.Usage,
		log:      log,
		secure:   d.SecureCookies,
		ips:      ipResolver{trusted: d.TrustedProxies},
		returns:  returnThrottle{limiter: d.ReturnLimiter, limit: d.ReturnLimit},
		catalog:  d.Catalog,
		gateway:  d.GatewayURL,

		notifications: d.Notifications,
		capacity:      d.Capacity,
		admin:         d.Admin,
		reports:       d.Reports,
		payments:      d.Payments,
		actions:       d.Actions,

		ipBans:       d.IPBans,
		authFailures: d.AuthFailures,
	}
	if d.IPBans != nil {
		h.internal = newInternalToken(d.InternalToken)
	}
	mount(app, h)
	if d.StaticDir != "" {
		mountSPA(app, d.StaticDir, log)
	}
	return app
}

// handlers holds what the route handlers share.
type handlers struct {
	accounts *account.Service
	keys     *apikey.Service
	resets   *account.ResetService
	billing  *billing.Service
	ledger   *ledger.Service
	usage    *usage.Service
	log      *slog.Logger
	secure   bool
	ips      ipResolver
	returns  returnThrottle
	catalog  *catalog.File
	gateway  string

	notifications NotificationDeps
	capacity      *capacity.Reader
	admin         *admin.Service
	reports       *admin.Reports
	payments      *admin.Payments
	actions       *admin.Actions

	// internal, ipBans and authFailures serve the internal routes.
	internal     internalToken
	ipBans       *ipban.Alerts
	authFailures *authlog.Logger
}
