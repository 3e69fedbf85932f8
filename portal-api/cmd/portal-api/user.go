package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/app"
)

const userUsage = "usage: portal-api user disable|enable --email E"

// userCmd runs `user disable|enable --email E`: a disabled user cannot log
// in, their sessions end at once, and the gateways are told through the
// account events so that the user's keys stop working within seconds.
func userCmd(ctx context.Context, cfg *app.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(userUsage)
	}
	action, disabled, kind := args[0], false, accountevents.KindAccountEnabled
	switch action {
	case "disable":
		disabled, kind = true, accountevents.KindAccountDisabled
	case "enable":
	default:
		return fmt.Errorf("unknown user command %q\n%s", action, userUsage)
	}
	fs := flag.NewFlagSet("user "+action, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the user's e-mail address")
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
	res, err := a.Store.SetUserDisabled(ctx, *email, disabled, "cli", time.Now().UTC())
	if resayil.ErrorCode(err) == resayil.ENOTFOUND {
		return fmt.Errorf("user %s: no user has the e-mail address %q", action, *email)
	}
	if err != nil {
		return fmt.Errorf("user %s: %w", action, err)
	}
	// Published after the commit (see package accountevents); the change is
	// idempotent, so if publishing fails the operator simply runs it again.
	pub, via := a.Events(), a.EventsVia()
	ev := accountevents.Event{Kind: kind, Account: res.AccountID, Subject: fmt.Sprintf("user:%d", res.UserID)}
	if err := pub.Publish(ctx, ev); err != nil {
		return fmt.Errorf("user %s: %s is %sd, but the gateways could not be told through %s (run the command again): %w", action, *email, action, via, err)
	}
	state := "now"
	if !res.Changed {
		state = "already"
	}
	fmt.Fprintf(stdout, "%s is %s %sd (user %d, account %d); %d session(s) ended; gateways notified through %s\n",
		*email, state, action, res.UserID, res.AccountID, res.SessionsEnded, via)
	return nil
}
