package resayil

import "time"

// AccountID identifies an account: the owner of wallets, ledger rows, usage
// records, subscriptions and rate limits. It is a user's personal account or
// an Enterprise team's.
type AccountID int64

// AccountKind says whether an account belongs to one user or to a team.
type AccountKind string

// Account kinds.
const (
	AccountUser AccountKind = "user"
	AccountTeam AccountKind = "team"
)

// UserID identifies a person who can log in.
type UserID int64

// Role is what a user may do in the portal.
type Role string

// Roles.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Locale is the language a user reads notifications and the SPA in.
type Locale string

// Supported locales.
const (
	LocaleEN Locale = "en"
	LocaleAR Locale = "ar"
)

// TierCode names a subscription plan. The empty tier means no active plan,
// which has Basic limits and models.
type TierCode string

// Seeded tiers.
const (
	TierNone       TierCode = ""
	TierBasic      TierCode = "basic"
	TierPro        TierCode = "pro"
	TierEnterprise TierCode = "enterprise"
)

// KuwaitLocation returns Asia/Kuwait; days (budgets, expiry reminders) are
// counted in Kuwait time. Binaries embed time/tzdata so this never fails in a
// scratch image; the fixed +03:00 zone is a fallback Kuwait has used since 1950.
func KuwaitLocation() *time.Location {
	loc, err := time.LoadLocation("Asia/Kuwait")
	if err != nil {
		return time.FixedZone("Asia/Kuwait", 3*60*60)
	}
	return loc
}
