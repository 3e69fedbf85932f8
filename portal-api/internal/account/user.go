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

	// WhatsAppOptIn is the user's consent to WhatsApp notifications;
	// without it only a password-reset code they asked for is sent.
	WhatsAppOptIn bool
}

// Disabled reports whether an operator has disabled the user: they cannot
// log in and their sessions and keys stop working.
func (u User) Disabled() bool { return u.DisabledAt != nil }

// NewUser is a user to create, with the password already hashed.
type NewUser struct {
	Email, Name, Phone, PasswordHash string
	Role                             resayil.Role
	Locale                           resayil.Locale

	WhatsAppOptIn bool
	// Welcome puts the welcome notification into the outbox in the same
	// transaction (registration does; the seeded admin does not).
	Welcome bool
}

// ProfileUpdate changes the fields that are not nil.
type ProfileUpdate struct {
	Name   *string
	Phone  *string
	Locale *resayil.Locale

	WhatsAppOptIn *bool
}

// Empty reports whether the update changes nothing.
func (p ProfileUpdate) Empty() bool {
	return p.Name == nil && p.Phone == nil && p.Locale == nil && p.WhatsAppOptIn == nil
}
