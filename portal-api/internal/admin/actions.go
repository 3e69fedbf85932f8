package admin

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// Audit actions of disabling and enabling an account.
const (
	AuditAccountDisable = "account.disable"
	AuditAccountEnable  = "account.enable"
)

// ActionStore is what the admin actions write and read.
type ActionStore interface {
	// SetAccountDisabled applies c in one transaction, together with its
	// audit row, and reports what it did. For a user's personal account it
	// sets (or clears) users.disabled_at, and on disable ends every open
	// session of the user (revoke_reason 'disabled'); for a team's account
	// it sets accounts.status to disabled (or active). An unknown e-mail
	// or account returns ENOTFOUND and writes nothing.
	SetAccountDisabled(ctx context.Context, c StatusChange, now time.Time) (StatusChanged, error)
	// AuditLog returns up to q.Limit+1 audit rows matching q after its
	// cursor, newest first.
	AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// By is who acts: an admin through the API (UserID and IP), or an
// operator's tool (Actor, e.g. "cli").
type By struct {
	UserID resayil.UserID
	Actor  string
	IP     string
}

// StatusChange disables or enables an account, named by its id or by
// the e-mail of its user.
type StatusChange struct {
	Account  resayil.AccountID
	Email    string
	Disabled bool
	// Reason is trimmed and checked (ledger.ReasonProblem).
	Reason string
	By     By
}

// StatusChanged is what SetAccountDisabled did.
type StatusChanged struct {
	Account resayil.AccountID
	// User is the account's user, 0 for a team's account; Email is theirs.
	User  resayil.UserID
	Email string
	// Changed is false when the account already was in the requested
	// state; the call is still audited, so a retry leaves a trace.
	Changed bool
	// SessionsEnded counts the sessions a disable ended.
	SessionsEnded int64
}

// StatusResult is what SetDisabled did.
type StatusResult struct {
	StatusChanged
	Disabled bool
	// Notified reports that the gateways were told (account event).
	Notified bool
}

// Actions are the admin actions that are not about the ledger: disabling
// and enabling accounts, and reading the audit log. The portal API's
// routes and the operator commands both call them, so an account is
// disabled the same way from either.
type Actions struct {
	store  ActionStore
	events accountevents.Publisher
	now    func() time.Time
	log    *slog.Logger
}

// NewActions builds the actions; events tells the gateways (required),
// now is the program's clock.
func NewActions(store ActionStore, events accountevents.Publisher, now func() time.Time, log *slog.Logger) *Actions {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Actions{store: store, events: events, now: now, log: log}
}

// ErrNotNotified means the change is committed but the gateways could not
// be told; the change is idempotent, so doing it again tells them.
var ErrNotNotified = ledger.ErrNotNotified

// SetDisabled disables (or enables again) an account: for a user's
// personal account, the user cannot log in and their sessions end at
// once; for a team's, its members' keys stop drawing on it. The change and
// its audit row ({before, after, reason}) commit in one transaction; then
// an account event tells the gateways, which drop the cached keys of the
// account (and of its user) within seconds, so its keys stop working.
// When that publish fails the result is returned with an error wrapping
// ErrNotNotified.
func (a *Actions) SetDisabled(ctx context.Context, c StatusChange) (StatusResult, error) {
	var fields []resayil.FieldError
	if c.Account == 0 && strings.TrimSpace(c.Email) == "" {
		fields = append(fields, resayil.FieldError{Field: "email", Message: "The e-mail address is required."})
	}
	if p := ledger.ReasonProblem(c.Reason); p != "" {
		fields = append(fields, resayil.FieldError{Field: "reason", Message: p})
	}
	if len(fields) > 0 {
		return StatusResult{}, resayil.Invalid(fields...)
	}
	c.Reason = strings.TrimSpace(c.Reason)
	changed, err := a.store.SetAccountDisabled(ctx, c, dbtime.Of(a.now()))
	if err != nil {
		if resayil.ErrorCode(err) == resayil.ENOTFOUND {
			return StatusResult{}, err
		}
		return StatusResult{}, fmt.Errorf("set account status: %w", err)
	}
	res := StatusResult{StatusChanged: changed, Disabled: c.Disabled}
	// Published after the commit (see package accountevents): a gateway
	// told earlier could re-read the account before the commit and cache
	// it unchanged.
	kind := accountevents.KindAccountEnabled
	if c.Disabled {
		kind = accountevents.KindAccountDisabled
	}
	ev := accountevents.Event{Kind: kind, Account: changed.Account}
	if changed.User != 0 {
		ev.Subject = fmt.Sprintf("user:%d", changed.User)
	}
	if err := a.events.Publish(ctx, ev); err != nil {
		a.log.Warn("account status changed but the gateways were not told", "account", changed.Account, "err", err)
		return res, fmt.Errorf("%w: %w", ErrNotNotified, err)
	}
	res.Notified = true
	return res, nil
}
