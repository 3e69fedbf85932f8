package wallet

import "github.com/resayil/portal/pkg/resayil"

// Balance is an account's wallet at one moment.
type Balance struct {
	// Total is grants minus debits: the credits the account owns.
	Total resayil.Credits
	// Held is what live (unexpired) holds of requests in flight take.
	Held resayil.Credits
	// Available is Total - Held: what the next Reserve can take.
	Available resayil.Credits
	// Period is the credits "of this period": Total right after the most
	// recent grant, set by every grant in the same step as the grant and
	// left alone by debits (docs/adr/0012-credits-of-this-period.md). The
	// dashboard shows "Available of Period credits left" and warns at a
	// fifth of it. 0 for an account never granted anything.
	Period resayil.Credits
	// PeriodSeq counts the grants, and so numbers the period: every grant
	// adds one in the same step as it sets Period. Balance alerts fire
	// once per period (DebitAlert).
	PeriodSeq int64
}
