// Package app assembles the gateway from its Config: it opens the database
// and Redis, chooses the Redis or embedded implementations, builds the HTTP
// app and its background workers, and runs them until the context ends.
// cmd/gateway and the end-to-end tests both build the program through New.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/server"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/httpserver"
)

// App is the assembled gateway.
type App struct {
	cfg   *Config
	log   *slog.Logger
	DB    *database.DB
	Redis *redis.Client
	HTTP  *fiber.App
}

// New opens the database (and Redis when configured) and builds the app.
// The gateway never migrates: portal-api owns the schema, and a database
// that is behind makes the gateway unready.
func New(ctx context.Context, cfg *Config, log *slog.Logger) (*App, error) {
	db, err := database.Open(ctx, cfg.DSN(), database.Options{})
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, DB: db}
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL.Reveal())
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		a.Redis = redis.NewClient(opt)
	}
	a.HTTP = server.New(server.Deps{Logger: log, Checks: a.checks()})
	return a, nil
}

// checks: in embedded mode the database is the wallet, so it is required;
// in Redis mode warm requests are served from Redis, so a database outage
// only degrades the gateway.
func (a *App) checks() []httpserver.Check {
	checks := []httpserver.Check{{
		Name: "database", Required: a.Redis == nil,
		Run: func(ctx context.Context) error {
			if err := a.DB.Ping(ctx); err != nil {
				return errors.New("database unreachable")
			}
			m, err := a.DB.Migrator()
			if err != nil {
				return err
			}
			if pending, err := m.Pending(ctx); err != nil {
				return errors.New("cannot read schema version")
			} else if pending {
				return errors.New("schema behind: run `portal-api migrate up`")
			}
			return nil
		},
	}}
	if a.Redis != nil {
		checks = append(checks, httpserver.Check{Name: "redis", Required: true, Run: func(ctx context.Context) error {
			if err := a.Redis.Ping(ctx).Err(); err != nil {
				return errors.New("redis unreachable")
			}
			return nil
		}})
	}
	return checks
}

// Serve runs the HTTP server until ctx ends.
func (a *App) Serve(ctx context.Context, ready func(net.Addr)) error {
	return httpserver.Serve(ctx, a.HTTP, a.cfg.Addr, a.cfg.ShutdownTimeout, ready)
}

// Close releases connections.
func (a *App) Close() {
	if a.Redis != nil {
		_ = a.Redis.Close()
	}
	_ = a.DB.Close()
}
