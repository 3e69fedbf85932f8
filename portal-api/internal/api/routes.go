package api

import "github.com/gofiber/fiber/v2"

// route is one row of the route table. Auth routes run behind
// h.authenticate, which checks the access token and its session.
type route struct {
	method  string
	path    string
	auth    bool
	handler func(h *handlers, c *fiber.Ctx) error
}

// routes is the portal's one route table (besides /healthz and /readyz,
// which httpserver mounts). openapi.yaml describes exactly these; a test
// fails when the two differ. Routes that act for an account (API keys,
// billing, usage) are wrapped in scoped, which checks ?account_id once for
// all of them.
var routes = []route{
	{fiber.MethodGet, "/api/v1/openapi.yaml", false, (*handlers).openAPI},

	{fiber.MethodPost, "/api/v1/auth/register", false, (*handlers).register},
	{fiber.MethodPost, "/api/v1/auth/login", false, (*handlers).login},
	{fiber.MethodPost, "/api/v1/auth/refresh", false, (*handlers).refresh},
	{fiber.MethodPost, "/api/v1/auth/logout", false, (*handlers).logout},
	{fiber.MethodPost, "/api/v1/auth/logout-all", true, (*handlers).logoutAll},
	// Password reset by a WhatsApp code; the same answer whether or not an
	// account matches.
	{fiber.MethodPost, "/api/v1/auth/password-reset/request", false, (*handlers).requestPasswordReset},
	{fiber.MethodPost, "/api/v1/auth/password-reset/confirm", false, (*handlers).confirmPasswordReset},

	{fiber.MethodGet, "/api/v1/me", true, (*handlers).getMe},
	{fiber.MethodPatch, "/api/v1/me", true, (*handlers).updateMe},
	{fiber.MethodPost, "/api/v1/me/password", true, (*handlers).changePassword},

	{fiber.MethodPost, "/api/v1/api-keys", true, scoped((*handlers).createKey)},
	{fiber.MethodGet, "/api/v1/api-keys", true, scoped((*handlers).listKeys)},
	{fiber.MethodDelete, "/api/v1/api-keys/:id", true, scoped((*handlers).revokeKey)},

	{fiber.MethodGet, "/api/v1/config", false, (*handlers).getConfig},
	{fiber.MethodGet, "/api/v1/models", false, (*handlers).listModels},

	{fiber.MethodGet, "/api/v1/plans", false, (*handlers).listPlans},
	{fiber.MethodGet, "/api/v1/topup-packs", false, (*handlers).listPacks},
	{fiber.MethodGet, "/api/v1/billing", true, scoped((*handlers).getBilling)},
	{fiber.MethodGet, "/api/v1/billing/payments", true, scoped((*handlers).listPayments)},
	{fiber.MethodGet, "/api/v1/billing/payments/:id", true, scoped((*handlers).getPayment)},
	{fiber.MethodPost, "/api/v1/billing/checkout", true, scoped((*handlers).checkout)},
	// MyFatoorah's side: the browser's return and the signed webhook.
	// Neither is trusted; both only say whom to ask (GetPaymentStatus).
	{fiber.MethodGet, "/api/v1/billing/myfatoorah/return", false, (*handlers).myfatoorahReturn},
	{fiber.MethodPost, "/api/v1/webhooks/myfatoorah", false, (*handlers).myfatoorahWebhook},

	// Usage: totals, per model, receipts and their CSV export.
	{fiber.MethodGet, "/api/v1/usage/summary", true, scoped((*handlers).usageSummary)},
	{fiber.MethodGet, "/api/v1/usage/models", true, scoped((*handlers).usageModels)},
	{fiber.MethodGet, "/api/v1/usage/requests", true, scoped((*handlers).usageRequests)},
	{fiber.MethodGet, "/api/v1/usage/requests.csv", true, scoped((*handlers).usageExport)},

	{fiber.MethodPost, "/api/v1/admin/users/:id/credits", true, adminOnly((*handlers).adjustCredits)},
	// Live capacity from the gateways' heartbeats; never fails.
	{fiber.MethodGet, "/api/v1/admin/capacity", true, adminOnly((*handlers).getCapacity)},

	// The admin console: accounts and users, an account's page and ledger.
	{fiber.MethodGet, "/api/v1/admin/accounts", true, adminOnly((*handlers).listAdminAccounts)},
	{fiber.MethodGet, "/api/v1/admin/accounts/:id", true, adminOnly((*handlers).getAdminAccount)},
	{fiber.MethodGet, "/api/v1/admin/accounts/:id/ledger", true, adminOnly((*handlers).getAdminLedger)},
	{fiber.MethodGet, "/api/v1/admin/users", true, adminOnly((*handlers).listAdminUsers)},
	// The platform overview, revenue by paid time, and payments with their
	// history; a payment that needs review is credited or rejected here.
	{fiber.MethodGet, "/api/v1/admin/overview", true, adminOnly((*handlers).getAdminOverview)},
	{fiber.MethodGet, "/api/v1/admin/revenue", true, adminOnly((*handlers).getAdminRevenue)},
	{fiber.MethodGet, "/api/v1/admin/payments", true, adminOnly((*handlers).listAdminPayments)},
	{fiber.MethodGet, "/api/v1/admin/payments/:id", true, adminOnly((*handlers).getAdminPayment)},
	{fiber.MethodPost, "/api/v1/admin/payments/:id/resolve", true, adminOnly((*handlers).resolveAdminPayment)},
	// The admin's actions on an account, each audited in its own
	// transaction, and the audit log.
	{fiber.MethodPost, "/api/v1/admin/accounts/:id/credits", true, adminOnly((*handlers).adjustAccountCredits)},
	{fiber.MethodPost, "/api/v1/admin/accounts/:id/plan", true, adminOnly((*handlers).setAccountPlan)},
	{fiber.MethodPost, "/api/v1/admin/accounts/:id/disable", true, adminOnly((*handlers).disableAccount)},
	{fiber.MethodPost, "/api/v1/admin/accounts/:id/enable", true, adminOnly((*handlers).enableAccount)},
	{fiber.MethodGet, "/api/v1/admin/audit-log", true, adminOnly((*handlers).listAuditLog)},

	// Notifications: Meta's WhatsApp webhook (handshake and signed
	// statuses), and the outbox, its deliveries and the notifier for admins.
	{fiber.MethodGet, "/api/v1/webhooks/whatsapp", false, (*handlers).whatsappHandshake},
	{fiber.MethodPost, "/api/v1/webhooks/whatsapp", false, (*handlers).whatsappWebhook},
	{fiber.MethodGet, "/api/v1/admin/notifications", true, adminOnly((*handlers).listNotifications)},
	{fiber.MethodGet, "/api/v1/admin/notifications/:id", true, adminOnly((*handlers).getNotification)},
	{fiber.MethodGet, "/api/v1/admin/notification-deliveries", true, adminOnly((*handlers).listDeliveries)},
	{fiber.MethodPost, "/api/v1/admin/notification-deliveries/:id/retry", true, adminOnly((*handlers).retryDelivery)},
	{fiber.MethodGet, "/api/v1/admin/notifier", true, adminOnly((*handlers).getNotifier)},
	{fiber.MethodPost, "/api/v1/admin/notifier/resume", true, adminOnly((*handlers).resumeNotifier)},

	// The host's tools, with RESAYIL_INTERNAL_TOKEN instead of a session.
	{fiber.MethodPost, "/api/v1/internal/ip-banned", false, internalOnly((*handlers).ipBanned)},
}

func mount(app *fiber.App, h *handlers) {
	for _, r := range routes {
		hs := []fiber.Handler{func(c *fiber.Ctx) error { return r.handler(h, c) }}
		if r.auth {
			hs = append([]fiber.Handler{h.authenticate}, hs...)
		}
		app.Add(r.method, r.path, hs...)
	}
}
