package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/app"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

const creditsUsage = "usage: portal-api credits grant --email E --amount N --reason R"

// creditsCmd runs `credits grant`: the ledger row, the durable balance and
// the audit row are committed first, in one transaction, then the grant is
// applied to the live wallet once by its reference (see package ledger).
func creditsCmd(ctx context.Context, cfg *app.Config, log *slog.Logger, environ, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(creditsUsage)
	}
	if args[0] != "grant" {
		return fmt.Errorf("unknown credits command %q\n%s", args[0], creditsUsage)
	}
	fs := flag.NewFlagSet("credits grant", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	email := fs.String("email", "", "the user's e-mail address")
	amount := fs.String("amount", "", "credits to grant, a positive whole number")
	reason := fs.String("reason", "", "why, for the ledger and the audit log")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("credits grant: %w\n%s", err, creditsUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("credits grant: unexpected argument %q\n%s", fs.Arg(0), creditsUsage)
	}
	switch {
	case strings.TrimSpace(*email) == "":
		return errors.New("credits grant: --email is required\n" + creditsUsage)
	case *amount == "":
		return errors.New("credits grant: --amount is required\n" + creditsUsage)
	case strings.TrimSpace(*reason) == "":
		return errors.New("credits grant: --reason is required\n" + creditsUsage)
	}
	n, err := parseCount("amount", *amount)
	if err != nil {
		return fmt.Errorf("credits grant: %w", err)
	}

	env, err := openLedger(ctx, cfg, log, environ)
	if err != nil {
		return err
	}
	defer env.Close()
	res, err := env.svc.Grant(ctx, ledger.GrantRequest{Email: *email, Amount: resayil.Credits(n), Reason: *reason, Actor: cliActor})
	if errors.Is(err, ledger.ErrNotLive) {
		return fmt.Errorf("credits grant: %d credits for %s are recorded (reference %s) but not yet in the live wallet; "+
			"the reconciler applies them (or run `portal-api ledger reconcile`): do not grant again: %w",
			res.Grant.Amount, res.Owner.Email, res.Grant.Reference, err)
	}
	if err != nil {
		return operatorError("credits grant", err)
	}
	fmt.Fprintf(stdout, "granted %d credits to %s (account %d), reference %s%s\n",
		res.Grant.Amount, res.Owner.Email, res.Owner.Account, res.Grant.Reference, balanceNote(ctx, env, res.Owner.Account))
	return nil
}

// balanceNote reads the account's balance for the output; the grant is
// done, so a failure to read it is only noted.
func balanceNote(ctx context.Context, env *ledgerEnv, acct resayil.AccountID) string {
	b, err := env.balances.Balance(ctx, acct)
	if err != nil {
		return fmt.Sprintf("; balance unavailable: %v", err)
	}
	return fmt.Sprintf("; balance now %d", b.Total)
}
