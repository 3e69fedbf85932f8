// Package server builds the gateway's Fiber app: the route table, the
// middleware order, the OpenAI error writer and the health endpoints. The
// request path itself lives in the packages it calls.
package server

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/httpserver"
)

// Deps is what the HTTP layer needs; internal/app builds it.
type Deps struct {
	Logger    *slog.Logger
	Checks    []httpserver.Check
	BodyLimit int
	Chat      *Chat
	Models    *Models
	// KeyFailures, when set, gets a line per refused API key from the
	// client ClientIP names (both required together).
	KeyFailures KeyFailureLog
	ClientIP    func(*fiber.Ctx) string
}

// New builds the gateway's Fiber app.
func New(d Deps) *fiber.App {
	if d.BodyLimit == 0 {
		d.BodyLimit = 4 << 20
	}
	app := httpserver.New(httpserver.Options{
		Name:         "gateway",
		Logger:       d.Logger,
		BodyLimit:    d.BodyLimit,
		ErrorHandler: ErrorHandler(d.Logger),
		AccessLog:    true,
		// Every answer's x-request-id is the gateway's own id, set before
		// anything is parsed or authenticated; on a chat completion it is
		// also the billing id (usage_records.request_id).
		OwnRequestID: true,
	})
	httpserver.MountHealth(app, d.Checks)
	if d.KeyFailures != nil && d.ClientIP != nil {
		app.Use(logKeyFailures(d.KeyFailures, d.ClientIP))
	}
	if d.Chat != nil {
		app.Post("/v1/chat/completions", d.Chat.Handle)
	}
	if d.Models != nil {
		app.Get("/v1/models", d.Models.List)
		app.Get("/v1/models/*", d.Models.Get)
	}
	return app
}
