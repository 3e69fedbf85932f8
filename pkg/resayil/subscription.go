package resayil

// SubscriptionStatus is where a subscriptions row is in its life. An
// account has at most one active row: every new subscription ends the
// active one in the same transaction (docs/adr/0006-billing-exactly-once.md).
type SubscriptionStatus string

// Subscription statuses: the only values of subscriptions.status.
const (
	SubscriptionActive SubscriptionStatus = "active"
	SubscriptionEnded  SubscriptionStatus = "ended"
)

// SubscriptionSource says what started a subscription.
type SubscriptionSource string

// Subscription sources: the only values of subscriptions.source.
const (
	// SubscriptionFromPayment is a plan bought through MyFatoorah (the row
	// names its payment).
	SubscriptionFromPayment SubscriptionSource = "payment"
	// SubscriptionFromOperator is a plan set by `portal-api plan set`.
	SubscriptionFromOperator SubscriptionSource = "operator"
)
