package wallet

import (
	"fmt"
	"strings"

	"github.com/resayil/portal/pkg/resayil"
)

// Grant adds credits to an account: a subscription, a top-up, an admin
// adjustment or a refund (docs/architecture.md "Credits and holds").
type Grant struct {
	// Reference is unique per grant and makes it apply once:
	// payment:<payment id>, subscription:<subscription id>, admin:<uuid>,
	// refund:<payment id>. At most 128 bytes.
	Reference string
	Account   resayil.AccountID
	// Amount is positive: a grant never takes credits away.
	Amount resayil.Credits
	// Kind is the ledger kind (at most 16 bytes); empty means the
	// reference's scheme, the part before the first colon (a reference
	// without one then needs a Kind).
	Kind string
	// Reason is free text for the ledger (at most 255 bytes).
	Reason string
	// ActorUserID is the operator who granted it; 0 for the system.
	ActorUserID resayil.UserID
}

// LedgerKind returns Kind, or the reference's scheme when Kind is empty.
func (g Grant) LedgerKind() string {
	if g.Kind != "" {
		return g.Kind
	}
	scheme, _, ok := strings.Cut(g.Reference, ":")
	if !ok {
		return ""
	}
	return scheme
}

// Validate reports a grant no store should accept, wrapping ErrInvalid.
func (g Grant) Validate() error {
	switch {
	case g.Reference == "" || len(g.Reference) > 128:
		return fmt.Errorf("%w: grant reference must be 1 to 128 bytes", ErrInvalid)
	case g.Account <= 0:
		return fmt.Errorf("%w: grant account %d", ErrInvalid, g.Account)
	case g.Amount <= 0:
		return fmt.Errorf("%w: grant amount %d must be positive", ErrInvalid, g.Amount)
	case g.LedgerKind() == "" || len(g.LedgerKind()) > 16:
		return fmt.Errorf("%w: grant kind must be 1 to 16 bytes", ErrInvalid)
	case len(g.Reason) > 255:
		return fmt.Errorf("%w: grant reason longer than 255 bytes", ErrInvalid)
	}
	return nil
}
