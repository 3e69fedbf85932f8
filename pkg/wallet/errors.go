package wallet

import (
	"errors"
	"fmt"

	"github.com/resayil/portal/pkg/resayil"
)

// ErrInvalid is wrapped by every error about a malformed Hold, Settlement or
// Grant. It is a programming error, so it maps to EINTERNAL, not 400.
var ErrInvalid = errors.New("wallet: invalid argument")

// ErrHoldNotFound is returned by Renew for a hold that was settled, released
// or reclaimed.
var ErrHoldNotFound = &resayil.Error{Code: resayil.ENOTFOUND, Message: "The credit hold of this request no longer exists."}

// InsufficientCreditsError is Reserve's refusal: the available balance is
// below the hold's minimum. It unwraps to a *resayil.Error with code
// EINSUFFICIENTCREDITS, so resayil.ErrorCode reports that code.
type InsufficientCreditsError struct {
	// Available is the balance minus live holds when the hold was refused.
	Available resayil.Credits
	// Required is the hold's minimum.
	Required resayil.Credits
}

// Insufficient returns an *InsufficientCreditsError.
func Insufficient(available, required resayil.Credits) error {
	return &InsufficientCreditsError{Available: available, Required: required}
}

func (e *InsufficientCreditsError) Error() string {
	return fmt.Sprintf("wallet: insufficient credits: %d available, %d required", e.Available, e.Required)
}

// Unwrap gives the application error the gateway renders as a 402.
func (e *InsufficientCreditsError) Unwrap() error {
	return resayil.Errorf(resayil.EINSUFFICIENTCREDITS,
		"Your available balance of %d credits is below the %d credits this request needs.", e.Available, e.Required)
}

// AvailableCredits returns the available balance carried by an
// insufficient-credits error anywhere in err's chain.
func AvailableCredits(err error) (resayil.Credits, bool) {
	var e *InsufficientCreditsError
	if errors.As(err, &e) {
		return e.Available, true
	}
	return 0, false
}
