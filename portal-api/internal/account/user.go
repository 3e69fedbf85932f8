package account

import (
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// User is a person who can log in. Every user owns a personal account that
// holds their wallet and subscription unless they belong to a team.
type User struct {
	ID         resayil.UserID
	AccountID  resayil.AccountID
	Email      string
	Phone      string
	Name       string
	Role       resayil.Role
	Locale     resayil.Locale
	DisabledAt *time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}
