// Package app assembles portal-api from its Config: it opens the database
// and Redis, chooses implementations, builds the HTTP app and background
// jobs, and runs them until the context ends. cmd/portal-api and the
// end-to-end tests both build the program through New.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/gofiber/fiber/v2"
	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/portal-api/internal/api"
	"github.com/resayil/portal/portal-api/internal/store"
)

// App is the assembled portal-api.
type App struct {
	cfg   *Config
	log   *slog.Logger
	DB    *database.DB
	Redis *redis.Client
	Store *store.Store
	HTTP  *fiber.App
}

// ErrSchemaBehind means the database needs `portal-api migrate up`.
var ErrSchemaBehind = errors.New("the database schema is behind this binary: run `portal-api migrate up` (or set RESAYIL_AUTO_MIGRATE=true)")

// Open connects to the database (and Redis when configured) without
// building the HTTP app; commands such as migrate and seed use it.
func Open(ctx context.Context, cfg *Config, log *slog.Logger) (*App, error) {
	db, err := database.Open(ctx, cfg.DSN(), database.Options{})
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, DB: db, Store: store.New(db)}
	if cfg.RedisURL != "" {
		opt, err := redis.ParseURL(cfg.RedisURL.Reveal())
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		a.Redis = redis.NewClient(opt)
	}
	return a, nil
}

// New opens everything serve needs: applies pending migrations when
// allowed, refuses a database that is behind otherwise, and builds the app.
func New(ctx context.Context, cfg *Config, log *slog.Logger) (*App, error) {
	a, err := Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := a.ensureSchema(ctx); err != nil {
		a.Close()
		return nil, err
	}
	a.HTTP = api.New(api.Deps{
		Logger:  log,
		Checks:  a.checks(),
		Origins: cfg.Origins(),
	})
	return a, nil
}

func (a *App) ensureSchema(ctx context.Context) error {
	m, err := a.DB.Migrator()
	if err != nil {
		return err
	}
	pending, err := m.Pending(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if !pending {
		return nil
	}
	if !a.cfg.ShouldAutoMigrate() {
		return ErrSchemaBehind
	}
	n, err := m.Up(ctx)
	if err != nil {
		return err
	}
	a.log.Info("applied migrations", "count", n)
	return nil
}

func (a *App) checks() []httpserver.Check {
	checks := []httpserver.Check{{
		Name: "database", Required: true,
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
				return errors.New("schema behind: migrations pending")
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

// Serve runs the HTTP server on the configured address until ctx ends.
func (a *App) Serve(ctx context.Context, ready func(net.Addr)) error {
	return httpserver.Serve(ctx, a.HTTP, a.cfg.Addr, a.cfg.ShutdownTimeout, ready)
}

// Close releases connections.
func (a *App) Close() {
	if a.Redis != nil {
		_ = a.Redis.Close()
	}
	if a.DB != nil {
		_ = a.DB.Close()
	}
}
