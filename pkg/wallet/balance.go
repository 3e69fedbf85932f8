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
}
