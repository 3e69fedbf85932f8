package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/app"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

const planUsage = "usage: portal-api plan set --email E --plan basic|pro|enterprise|none --days N [--grant-credits] [--reason R]"

// planCmd runs `plan set`: an operator gives an account a subscription
// (no payment), ending the current one; see ledger.Service.SetPlan, which
// the admin API's plan route calls too.
func planCmd(ctx context.Context, cfg *app.Config, log *slog.Logger, environ, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(planUsage)
	}
	if args[0] != "set" {
		return fmt.Errorf("unknown plan command %q\n%s", args[0], planUsage)
	}
	fs := flag.NewFlagSet("plan set", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the user's e-mail address")
	code := fs.String("plan", "", "basic, pro, enterprise or none")
	days := fs.String("days", "", "how long the plan runs from now")
	grant := fs.Bool("grant-credits", false, "also grant the plan's credits")
	reason := fs.String("reason", "", "why, for the audit log (3 to 500 characters; by default the change itself)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("plan set: %w\n%s", err, planUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("plan set: unexpected argument %q\n%s", fs.Arg(0), planUsage)
	}
	req := ledger.PlanRequest{Email: *email, GrantCredits: *grant, Reason: *reason, Actor: cliActor}
	switch p := strings.ToLower(strings.TrimSpace(*code)); p {
	case "basic", "pro", "enterprise":
		req.Plan = resayil.TierCode(p)
	case "none":
		req.Plan = resayil.TierNone
	case "":
		return errors.New("plan set: --plan is required\n" + planUsage)
	default:
		return fmt.Errorf("plan set: --plan must be basic, pro, enterprise or none, got %q", *code)
	}
	switch {
	case strings.TrimSpace(*email) == "":
		return errors.New("plan set: --email is required\n" + planUsage)
	case req.Plan == resayil.TierNone && *days != "":
		return errors.New("plan set: --days does not apply to --plan none")
	case req.Plan == resayil.TierNone && *grant:
		return errors.New("plan set: --grant-credits does not apply to --plan none")
	case req.Plan != resayil.TierNone && *days == "":
		return errors.New("plan set: --days is required\n" + planUsage)
	}
	if req.Plan != resayil.TierNone {
		n, err := parseCount("days", *days)
		if err != nil || n > ledger.MaxDays {
			return fmt.Errorf("plan set: --days must be a whole number from 1 to %d, got %q", ledger.MaxDays, *days)
		}
		req.Days = int(n)
	}

	env, err := openLedger(ctx, cfg, log, environ)
	if err != nil {
		return err
	}
	defer env.Close()
	res, err := env.svc.SetPlan(ctx, req)
	if err != nil && !errors.Is(err, ledger.ErrNotLive) && !errors.Is(err, ledger.ErrNotNotified) {
		return operatorError("plan set", err)
	}
	fmt.Fprintln(stdout, planSummary(res, env))
	if err != nil {
		return fmt.Errorf("plan set: the plan is recorded, do not run the command again: %w", err)
	}
	return nil
}

func planSummary(res ledger.PlanResult, env *ledgerEnv) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (account %d): ", res.Owner.Email, res.Owner.Account)
	if s := res.Subscription; s != nil {
		fmt.Fprintf(&b, "plan %s until %s (subscription %d)", s.Plan.Code, s.ExpiresAt.Format(time.RFC3339), s.ID)
	} else {
		b.WriteString("no plan")
	}
	if len(res.Ended) > 0 {
		fmt.Fprintf(&b, "; ended subscription(s) %v", res.Ended)
	}
	if g := res.Grant; g != nil {
		fmt.Fprintf(&b, "; granted %d credits (reference %s", g.Amount, g.Reference)
		if !res.GrantLive {
			b.WriteString(", not yet live: the reconciler applies it")
		}
		b.WriteString(")")
	}
	if res.Notified {
		fmt.Fprintf(&b, "; gateways notified through %s", env.events)
	} else {
		b.WriteString("; gateways NOT notified: they see the change when their cache entries expire")
	}
	return b.String()
}
