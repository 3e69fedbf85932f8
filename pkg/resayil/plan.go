package resayil

import (
	"slices"
	"time"
)

// ModelClass is a model's size class; plans unlock classes.
type ModelClass string

// Model classes. ClassCloud names cloud-only models.
const (
	ClassSmall  ModelClass = "small"
	ClassMedium ModelClass = "medium"
	ClassLarge  ModelClass = "large"
	ClassCloud  ModelClass = "cloud"
)

// Plan is what a subscription tier allows: limits, model access and queue
// priority. Prices live in billing; the gateway needs only this.
type Plan struct {
	Code               TierCode
	Name               string
	RateLimitPerMinute int
	Classes            []ModelClass
	CloudAllowed       bool
	EnterpriseModels   bool
	QueuePriority      int
	// SortOrder ranks plans from cheapest up, to name "the lowest plan that
	// unlocks" a model.
	SortOrder int
}

// Allows reports whether the plan includes a model class.
func (p Plan) Allows(c ModelClass) bool { return slices.Contains(p.Classes, c) }

// APIKeyID identifies an API key.
type APIKeyID int64

// Principal is who an API request acts for: the key, its user and the
// account it draws on, with the account's plan as of the lookup.
type Principal struct {
	KeyID   APIKeyID
	UserID  UserID
	Account AccountID
	// Plan is the active plan; without one it is Basic's limits and models.
	Plan Plan
	// PlanExpiresAt is when the plan ends (zero for no plan). A cached
	// principal past this instant has fallen back to Basic without any event.
	PlanExpiresAt time.Time
	// Subscribed is false when the account has no active plan.
	Subscribed bool
}
