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
	"github.com/resayil/portal/portal-api/internal/ipban"
)

const notifyUsage = "usage: portal-api notify ip-banned --ip IP --jail JAIL"

// notifyCmd runs `notify ip-banned`: fail2ban's resayil-notify action on a
// host install (deploy/fail2ban), the same as POST
// /api/v1/internal/ip-banned without a running server or a token. It
// writes the admin alert unless the address was alerted within the hour;
// both are a success (exit 0), since fail2ban reports a ban once and has
// nothing to retry.
func notifyCmd(ctx context.Context, cfg *app.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "ip-banned" {
		return errors.New(notifyUsage)
	}
	fs := flag.NewFlagSet("notify ip-banned", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	ip := fs.String("ip", "", "the banned address")
	jail := fs.String("jail", "", "the jail that banned it")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("notify ip-banned: %w\n%s", err, notifyUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("notify ip-banned: unexpected argument %q\n%s", fs.Arg(0), notifyUsage)
	}
	b, err := ipban.ParseBan(*ip, *jail)
	if err != nil {
		var e *resayil.Error
		if errors.As(err, &e) {
			var problems []string
			for _, f := range e.Fields {
				problems = append(problems, fmt.Sprintf("--%s %s", f.Field, strings.TrimSuffix(lowerFirst(f.Message), ".")))
			}
			return fmt.Errorf("notify ip-banned: %s\n%s", strings.Join(problems, "; "), notifyUsage)
		}
		return err
	}
	a, err := app.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	out, err := ipban.New(a.DB, nil).Record(ctx, b)
	if err != nil {
		return err
	}
	if out.Alerted {
		fmt.Fprintf(stdout, "admins alerted: %s banned by %s\n", b.IP, b.Jail)
		return nil
	}
	fmt.Fprintf(stdout, "no new alert: %s was alerted at %s, less than %s ago\n", b.IP, out.AlertedAt.UTC().Format(time.RFC3339), ipban.Window)
	return nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}
