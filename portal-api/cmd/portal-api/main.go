// Command portal-api serves the portal's JSON API and runs its operator
// commands: serve, migrate up|down|status, seed, user disable|enable,
// credits grant, plan set, ledger verify|reconcile, cloud-budget show|set
// and notify ip-banned (usage below lists their flags).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
	_ "time/tzdata" // Asia/Kuwait in scratch images

	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/logging"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/app"
	"github.com/resayil/portal/portal-api/internal/store"
)

const usage = `usage: portal-api <command>

commands:
  serve                 run the portal API (default)
  migrate up|down|status
                        apply, roll back one, or list migrations
  seed                  insert the default plans, top-up packs, templates and the admin user (idempotent)
  user disable|enable --email E [--reason R]
                        disable a user (ends their sessions; their API keys stop working) or enable them again,
                        as the admin API's disable and enable routes do (audit-logged with the reason)
  credits grant --email E --amount N --reason R
                        grant N credits to the user's account (ledger reference admin:<uuid>, audit-logged)
  plan set --email E --plan basic|pro|enterprise|none --days N [--grant-credits] [--reason R]
                        give the account a plan for N days from now (no payment; ends the current one, audit-logged);
                        --grant-credits also grants the plan's credits; none ends the current plan
  ledger verify         check every balance equals its grants minus its usage (and, with Redis, the live balances); non-zero exit on a mismatch
  ledger reconcile [--min-age 5s]
                        apply to Redis, once each, the grants committed but not yet live (one pass)
  cloud-budget show     today's cloud requests (Asia/Kuwait day) against the daily budget, and the alerts sent
  cloud-budget set --today N
                        set today's cap of cloud requests (0 turns the cloud off); every gateway applies it within 5 s
  notify ip-banned --ip IP --jail JAIL
                        fail2ban banned IP: alert the admins, unless IP was alerted less than an hour ago (deploy/fail2ban)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "portal-api:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cfg, err := loadConfig(environ)
	if err != nil {
		return err
	}
	log := logging.New(stderr, cfg.IsProduction(), cfg.LogLevel)
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return migrate(ctx, cfg, log, args, stdout)
	case "seed":
		return seed(ctx, cfg, log, stdout)
	case "user":
		return userCmd(ctx, cfg, log, args, stdout)
	case "credits":
		return creditsCmd(ctx, cfg, log, environ, args, stdout)
	case "plan":
		return planCmd(ctx, cfg, log, environ, args, stdout)
	case "ledger":
		return ledgerCmd(ctx, cfg, log, environ, args, stdout)
	case "cloud-budget":
		return cloudBudgetCmd(ctx, cfg, log, environ, args, stdout)
	case "notify":
		return notifyCmd(ctx, cfg, log, args, stdout)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func serve(ctx context.Context, cfg *app.Config, log *slog.Logger) error {
	start := time.Now()
	log.Info("starting portal-api", "config", config.Fields(cfg), "database", database.Redacted(cfg.DSN()))
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	defer catalog.ReloadOnHangup(a.ReloadCatalog, log)()
	defer authlog.ReopenOnHangup(a.AuthLog, log)()
	return a.Serve(ctx, func(addr net.Addr) {
		log.Info("portal-api ready", "addr", addr.String(), "startup_ms", time.Since(start).Milliseconds())
	})
}

func migrate(ctx context.Context, cfg *app.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: portal-api migrate up|down|status")
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	m, err := a.DB.Migrator()
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		start := time.Now()
		n, err := m.Up(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s) in %s\n", n, time.Since(start).Round(time.Millisecond))
	case "down":
		if err := m.Down(ctx); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "rolled back one migration")
	case "status":
		st, err := m.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(stdout, "%05d  %-40s %s\n", s.Version, s.Name, state)
		}
	default:
		return fmt.Errorf("unknown migrate command %q: use up, down or status", args[0])
	}
	return nil
}

func seed(ctx context.Context, cfg *app.Config, log *slog.Logger, stdout io.Writer) error {
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	exists, err := a.Store.UserExists(ctx, cfg.AdminEmail)
	if err != nil {
		return err
	}
	password, generated := cfg.AdminPassword.Reveal(), false
	if !exists && password == "" {
		if cfg.IsProduction() {
			return config.Invalid("ADMIN_PASSWORD", "is required in production to seed the admin user")
		}
		password, generated = randomString(20), true
	}
	// Without RESAYIL_ADMIN_PHONE the admin gets resayil.PlaceholderPhone,
	// which the WhatsApp sender never messages.
	admin := store.AdminSeed{Email: cfg.AdminEmail, Name: "Administrator", Phone: cfg.AdminPhone}
	if !exists {
		hash, err := account.Hasher{Cost: cfg.BcryptCost}.Hash(password)
		if err != nil {
			return err
		}
		admin.PasswordHash = hash
	}
	res, err := a.Store.Seed(ctx, admin)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded: %d plan(s), %d top-up pack(s), %d template(s), admin created: %v\n", res.Plans, res.Packs, res.Templates, res.AdminCreated)
	if res.AdminPhoneSet {
		fmt.Fprintf(stdout, "admin phone set to %s (RESAYIL_ADMIN_PHONE); admin alerts go to it over WhatsApp\n", cfg.AdminPhone)
	}
	if res.AdminCreated && generated {
		path := filepath.Join(cfg.DataDir, "admin-password")
		if err := database.WritePrivateFile(path, []byte(password+"\n")); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "admin login: %s / %s (generated once; also saved in %s)\n", cfg.AdminEmail, password, path)
	}
	return nil
}
