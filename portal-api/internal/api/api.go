// Package api is portal-api's HTTP adapter: the Fiber app, its one route
// table, authentication middleware, DTOs with named converters, and the
// rendering of domain errors as {"error":{"code","message","fields"}}.
package api

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/cors"

	"github.com/resayil/portal/pkg/httpserver"
)

// Deps is what the HTTP layer needs; internal/app builds it.
type Deps struct {
	Logger  *slog.Logger
	Checks  []httpserver.Check
	Origins []string
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
	return app
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
