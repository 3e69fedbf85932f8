package ledger

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/resayil/portal/pkg/resayil"
)

// The reason an admin gives for an action (a credit adjustment, a plan
// change, a disable or enable), in characters. The audit log keeps it
// whole; the credit ledger's reason column keeps its first 255 bytes
// (LedgerReason).
const (
	MinActionReason = 3
	MaxActionReason = 500
)

// ReasonProblem says what is wrong with an admin action's reason, or "".
// The reason is taken trimmed.
func ReasonProblem(reason string) string {
	r := strings.TrimSpace(reason)
	switch n := utf8.RuneCountInString(r); {
	case n == 0:
		return "A reason is required."
	case n < MinActionReason:
		return fmt.Sprintf("The reason must be at least %d characters.", MinActionReason)
	case n > MaxActionReason:
		return fmt.Sprintf("The reason must be at most %d characters.", MaxActionReason)
	}
	return ""
}

// LedgerReason is reason as the credit ledger keeps it: at most
// MaxReasonLen bytes (credit_ledger.reason), cut at a character boundary
// and marked with an ellipsis when longer. The audit row of the same
// change keeps the whole reason.
func LedgerReason(reason string) string {
	if len(reason) <= MaxReasonLen {
		return reason
	}
	const ellipsis = "…"
	cut := MaxReasonLen - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut] + ellipsis
}

// BelowZeroError refuses a debit larger than the account's available
// balance (its balance less the credits held by requests in flight). It
// is a conflict (409) whose details name the credits available.
type BelowZeroError struct {
	Available resayil.Credits
	Requested resayil.Credits
}

func (e *BelowZeroError) Error() string {
	return fmt.Sprintf("ledger: a debit of %d credits refused, %d available", e.Requested, e.Available)
}

// Unwrap gives the application error the API renders.
func (e *BelowZeroError) Unwrap() error {
	return resayil.Errorf(resayil.ECONFLICT,
		"The account has %d credits available; taking %d would take its balance below zero.", e.Available, e.Requested)
}

// ErrorDetails is what the API adds to the error body's details.
func (e *BelowZeroError) ErrorDetails() map[string]any {
	return map[string]any{"available_credits": int64(e.Available), "requested_credits": int64(e.Requested)}
}
