package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
	"github.com/resayil/portal/portal-api/internal/app"
	"github.com/resayil/portal/portal-api/internal/ledger"
	"github.com/resayil/portal/portal-api/internal/ledger/ledgerredis"
)

const ledgerUsage = "usage: portal-api ledger verify | ledger reconcile [--min-age 5s]"

// cliActor names the operator commands in audit_log.actor.
const cliActor = "cli"

// ledgerEnv is what the credits, plan and ledger commands work with.
type ledgerEnv struct {
	app *app.App
	svc *ledger.Service
	// balances reads balances for the commands' output: the Redis wallet in
	// Redis mode, the database in embedded mode.
	balances wallet.Wallet
	// live is the Redis wallet; nil in embedded mode.
	live *walletredis.Wallet
	// events names where account events go, for the output.
	events string
}

func (e *ledgerEnv) Close() { e.app.Close() }

// openLedger opens the database (and Redis when RESAYIL_REDIS_URL is set)
// and picks the wallet and event implementations of the mode.
func openLedger(ctx context.Context, cfg *app.Config, log *slog.Logger, environ []string) (*ledgerEnv, error) {
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	env := &ledgerEnv{app: a}
	lc := ledger.Config{Store: a.Store, Log: log, TopUpURL: wallet.TopUpURL(cfg.PublicURL)}
	if a.Redis != nil {
		env.live, err = walletredis.New(a.Redis, walletsql.NewLoader(a.DB), walletredis.Config{Prefix: cfg.RedisPrefix})
		if err != nil {
			a.Close()
			return nil, config.Invalid("REDIS_PREFIX", "%v", err)
		}
		env.balances = env.live
		lc.Live, lc.Usage = env.live, ledgerredis.NewUsage(a.Redis, env.live.Keys())
	} else {
		env.balances = walletsql.New(a.DB, walletsql.Config{})
	}
	env.events, lc.Events = a.EventsVia(), a.Events()
	if env.svc, err = ledger.New(lc); err != nil {
		a.Close()
		return nil, err
	}
	return env, nil
}

// ledgerCmd runs `ledger verify` and `ledger reconcile`.
func ledgerCmd(ctx context.Context, cfg *app.Config, log *slog.Logger, environ, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(ledgerUsage)
	}
	switch args[0] {
	case "verify":
		if len(args) > 1 {
			return errors.New(ledgerUsage)
		}
		return ledgerVerify(ctx, cfg, log, environ, stdout)
	case "reconcile":
		return ledgerReconcile(ctx, cfg, log, environ, args[1:], stdout)
	default:
		return fmt.Errorf("unknown ledger command %q\n%s", args[0], ledgerUsage)
	}
}

// ledgerVerify prints every account whose numbers disagree and fails when
// there is one; otherwise it prints a one-line summary.
func ledgerVerify(ctx context.Context, cfg *app.Config, log *slog.Logger, environ []string, stdout io.Writer) error {
	env, err := openLedger(ctx, cfg, log, environ)
	if err != nil {
		return err
	}
	defer env.Close()
	rep, err := env.svc.Verify(ctx, ledger.VerifyOptions{})
	if err != nil {
		return fmt.Errorf("ledger verify: %w", err)
	}
	if rep.OK() {
		fmt.Fprintf(stdout, "ledger verify: %d accounts, all balanced\n", rep.Accounts)
		return nil
	}
	for _, m := range rep.Mismatches {
		where := "database"
		if m.Live {
			where = "redis"
		}
		fmt.Fprintf(stdout, "mismatch (%s): %s\n", where, m)
	}
	return fmt.Errorf("ledger verify: %d mismatch(es) in %d accounts", len(rep.Mismatches), rep.Accounts)
}

// ledgerReconcile makes one reconciler pass.
func ledgerReconcile(ctx context.Context, cfg *app.Config, log *slog.Logger, environ, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ledger reconcile", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	minAge := fs.Duration("min-age", ledger.DefaultMinAge, "retry only grants at least this old")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("ledger reconcile: %w\n%s", err, ledgerUsage)
	}
	if fs.NArg() > 0 || *minAge < 0 {
		return errors.New(ledgerUsage)
	}
	env, err := openLedger(ctx, cfg, log, environ)
	if err != nil {
		return err
	}
	defer env.Close()
	if env.live == nil {
		fmt.Fprintln(stdout, "ledger reconcile: embedded mode, the database is the wallet: nothing to reconcile")
		return nil
	}
	r, err := ledger.NewReconciler(ledger.ReconcilerConfig{Store: env.app.Store, Live: env.live, MinAge: max(*minAge, time.Nanosecond), Log: log})
	if err != nil {
		return err
	}
	res, err := r.Pass(ctx)
	fmt.Fprintf(stdout, "ledger reconcile: %d applied, %d already live, %d failed\n", res.Applied, res.AlreadyLive, res.Failed)
	if err != nil {
		return fmt.Errorf("ledger reconcile: %w", err)
	}
	return nil
}

// operatorError turns the ledger's user-facing errors into one line for the
// terminal ("credits grant: no user has the e-mail address ..."), and wraps
// anything else with the command's name.
func operatorError(cmd string, err error) error {
	switch resayil.ErrorCode(err) {
	case resayil.EINVALID, resayil.ENOTFOUND, resayil.ECONFLICT:
		msg := strings.TrimSuffix(resayil.ErrorMessage(err), ".")
		if msg != "" {
			msg = strings.ToLower(msg[:1]) + msg[1:]
		}
		return fmt.Errorf("%s: %s", cmd, msg)
	}
	return fmt.Errorf("%s: %w", cmd, err)
}

// parseCount parses a flag that must be a positive whole number.
func parseCount(flagName, v string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("--%s must be a positive whole number, got %q", flagName, v)
	}
	return n, nil
}
