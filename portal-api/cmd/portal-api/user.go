package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/admin"
	"github.com/resayil/portal/portal-api/internal/app"
)

const userUsage = "usage: portal-api user disable|enable --email E [--reason R]"

// userCmd runs `user disable|enable --email E`: a disabled user cannot log
// in, their sessions end at once, and the gateways are told through the
// account events so that the user's keys stop working within seconds. It
// is admin.Actions.SetDisabled, the same path as the admin API's
// disable and enable routes.
func userCmd(ctx context.Context, cfg *app.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	action, disabled := args[0], false
	switch action {
	case "disable":
		disabled = true
	case "enable":
	default:
		return fmt.Errorf("unknown user command %q\n%s", action, userUsage)
	}
	fs := flag.NewFlagSet("user "+action, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the user's e-mail address")
	reason := fs.String("reason", "user "+action+" from the command line", "why, for the audit log")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("user %s: %w\n%s", action, err, userUsage)
	}
	if *email == "" || fs.NArg() > 0 {
		return errors.New(userUsage)
	}

	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	via := a.EventsVia()
	actions := admin.NewActions(a.Store, a.Events(), time.Now, log)
	res, err := actions.SetDisabled(ctx, admin.StatusChange{Email: *email, Disabled: disabled, Reason: *reason, By: admin.By{Actor: cliActor}})
	if resayil.ErrorCode(err) == resayil.ENOTFOUND {
		return fmt.Errorf("user %s: no user has the e-mail address %q", action, *email)
	}
	if errors.Is(err, admin.ErrNotNotified) {
		// The change is idempotent, so the operator simply runs it again.
		return fmt.Errorf("user %s: %s is %sd, but the gateways could not be told through %s (run the command again): %w", action, *email, action, via, err)
	}
	if err != nil {
		return operatorError("user "+action, err)
	}
	state := "now"
	if !res.Changed {
		state = "already"
	}
	fmt.Fprintf(stdout, "%s is %s %sd (user %d, account %d); %d session(s) ended; gateways notified through %s\n",
		*email, state, action, res.User, res.Account, res.SessionsEnded, via)
	return nil
}
