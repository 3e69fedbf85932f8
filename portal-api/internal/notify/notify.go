// Package notify sends the notifications outbox over WhatsApp: it expands
// each outbox row (table notifications) into one delivery per recipient,
// sends each delivery as one WhatsApp template message, records what Meta
// answers and what its status webhooks say later, and pauses all sending
// when Meta refuses the sender itself. The rules are in
// docs/notifications.md; this package holds them, free of HTTP and SQL:
// the store (package store) and the WhatsApp client (pkg/whatsapp) are
// behind the interfaces below.
package notify

import (
	"context"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/whatsapp"
)

// Audiences of an outbox row.
const (
	// AudienceUser is the row's user (a personal account), or the team
	// admins of its team account.
	AudienceUser = "user"
	// AudienceAdmins is the portal's operators.
	AudienceAdmins = "admins"
)

// Statuses of an outbox row.
const (
	// NotificationPending: written by a feature, not yet expanded.
	NotificationPending = "pending"
	// NotificationExpanded: its deliveries exist.
	NotificationExpanded = "expanded"
	// NotificationSkipped: nobody may receive it; LastError says why.
	NotificationSkipped = "skipped"
)

// DeliveryStatus is where one recipient's message is.
type DeliveryStatus string

// Delivery statuses.
const (
	// Pending: due at NextAttemptAt.
	Pending DeliveryStatus = "pending"
	// Sending: claimed by a worker until LeaseUntil; a lease that runs
	// out makes the delivery due again.
	Sending DeliveryStatus = "sending"
	// Sent: Meta accepted it (ProviderMessageID); ProviderStatus follows
	// its webhooks.
	Sent DeliveryStatus = "sent"
	// Failed: Meta refused it for good, it ran out of attempts, or its
	// webhook said failed. An admin may retry it.
	Failed DeliveryStatus = "failed"
)

// DeliveryStatuses lists every status, for validating filters.
var DeliveryStatuses = []DeliveryStatus{Pending, Sending, Sent, Failed}

// NotificationStatuses lists every outbox row status, for validating
// filters.
var NotificationStatuses = []string{NotificationPending, NotificationExpanded, NotificationSkipped}

// Events this package itself knows.
const (
	// EventPasswordResetCode carries a one-time code the user asked for:
	// sent without consent, as an authentication template in the user's
	// language.
	EventPasswordResetCode = "password_reset_code"
	// EventWhatsAppPaused alerts the admins that sending is paused.
	EventWhatsAppPaused = "whatsapp_paused"
)

// Template categories of table whatsapp_templates.
const (
	CategoryUtility        = "utility"
	CategoryAuthentication = "authentication"
)

// TeamAdminRole is the team_members role whose holders receive a team
// account's notifications.
const TeamAdminRole = "admin"

// PlaceholderPhone is the phone `portal-api seed` gives the admin it
// creates (cmd/portal-api): not a real number, so never a recipient.
const PlaceholderPhone = "+96500000000"

// Notification is one outbox row.
type Notification struct {
	ID        int64
	DedupeKey string
	Event     string
	Audience  string
	Account   resayil.AccountID
	User      resayil.UserID
	Locale    resayil.Locale
	// Payload is the row's JSON: {"params":[…],"params_ar":[…],"data":{…}}.
	Payload   string
	Status    string
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Delivery is one recipient's message of an outbox row.
type Delivery struct {
	ID             int64
	NotificationID int64
	// Event is the outbox row's, for listings.
	Event string
	// User is 0 for a number of RESAYIL_ADMIN_PHONES.
	User              resayil.UserID
	Phone             string
	Status            DeliveryStatus
	Attempts          int
	NextAttemptAt     time.Time
	LeaseUntil        *time.Time
	ProviderMessageID string
	ProviderStatus    string
	ProviderStatusAt  *time.Time
	LastError         string
	CreatedAt         time.Time
	SentAt            *time.Time
	UpdatedAt         time.Time
}

// Template is a row of whatsapp_templates: the WhatsApp template an event
// is sent as.
type Template struct {
	Event        string
	Name         string
	LanguageCode string
	Category     string
	ParamCount   int
}

// Job is a claimed delivery with what sending it needs.
type Job struct {
	Delivery     Delivery
	Notification Notification
	// Template is nil when the event has no row in whatsapp_templates.
	Template *Template
	// UserLocale is the recipient's language ("" without a user).
	UserLocale resayil.Locale
}

// Candidate is a possible recipient, before consent and phone checks.
type Candidate struct {
	User     resayil.UserID
	Phone    string
	Locale   resayil.Locale
	OptIn    bool
	Disabled bool
}

// Recipient is who a delivery goes to.
type Recipient struct {
	User  resayil.UserID // 0: a number of RESAYIL_ADMIN_PHONES
	Phone string
}

// State is sending as a whole.
type State struct {
	// PausedAt is when sending was paused, nil when it runs.
	PausedAt *time.Time
	Reason   string
	// UpdatedAt is the last change, or the last probe while paused.
	UpdatedAt time.Time
}

// Paused reports whether sending is paused.
func (s State) Paused() bool { return s.PausedAt != nil }

// Sender sends one template message and returns Meta's message id.
// *whatsapp.Client is one.
type Sender interface {
	SendTemplate(ctx context.Context, t whatsapp.Template) (string, error)
}

// ExpandTx is the part of the store expansion uses, inside one
// transaction.
type ExpandTx interface {
	// DueNotifications returns up to limit pending outbox rows whose
	// next_attempt_at has come, oldest first, locked until the
	// transaction ends; rows another transaction holds are skipped
	// (SELECT … FOR UPDATE SKIP LOCKED on MariaDB; SQLite's one writer
	// needs none).
	DueNotifications(ctx context.Context, now time.Time, limit int) ([]Notification, error)
	// Candidates returns who n may go to: for AudienceAdmins every user
	// with role admin; for AudienceUser, when n's account is a team
	// account, its members with TeamAdminRole, else n's user (or the user
	// of n's personal account).
	Candidates(ctx context.Context, n Notification) ([]Candidate, error)
	// Expand inserts one pending delivery per recipient, due at now, and
	// marks n expanded.
	Expand(ctx context.Context, n Notification, to []Recipient, now time.Time) error
	// Skip marks n skipped with the reason.
	Skip(ctx context.Context, n Notification, reason string, now time.Time) error
}

// Store is what the worker needs of the database.
type Store interface {
	// ExpandTx runs fn in one transaction, run again whole when it lost
	// to another (a deadlock).
	ExpandTx(ctx context.Context, fn func(tx ExpandTx) error) error
	// ClaimDeliveries takes up to limit due deliveries (pending and due,
	// or sending with an expired lease), oldest due first, marks them
	// sending with lease_until = leaseUntil, commits, and returns them
	// with what sending needs. Two workers never claim the same delivery
	// while its lease lasts (SELECT … FOR UPDATE SKIP LOCKED on MariaDB;
	// SQLite's one writer on SQLite).
	ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Job, error)
	// RecordSent marks a delivery sent by Meta's message id, counting the
	// attempt.
	RecordSent(ctx context.Context, id int64, messageID string, now time.Time) error
	// RecordRetry makes a delivery pending again at next, counting the
	// attempt.
	RecordRetry(ctx context.Context, id int64, next time.Time, lastErr string, now time.Time) error
	// RecordFailed marks a delivery failed, counting the attempt.
	RecordFailed(ctx context.Context, id int64, lastErr string, now time.Time) error
	// Release makes a claimed delivery pending and due again without
	// counting an attempt (sending paused, or shutting down).
	Release(ctx context.Context, id int64, now time.Time) error
	// State reads notifier_state.
	State(ctx context.Context) (State, error)
	// Pause pauses sending unless it is paused already; the call that
	// pauses also writes alert to the outbox in the same transaction, and
	// alone reports true.
	Pause(ctx context.Context, reason string, alert Alert, now time.Time) (bool, error)
	// ClaimProbe reports whether this caller may probe now: sending is
	// paused and nobody probed (or paused) in the last every; it stamps
	// the probe so that replicas probe once per every between them.
	ClaimProbe(ctx context.Context, now time.Time, every time.Duration) (bool, error)
	// Resume ends a pause; it reports whether one was ended.
	Resume(ctx context.Context, now time.Time) (bool, error)
}

// Alert is the outbox row raised when sending pauses.
type Alert struct {
	DedupeKey string
	Event     string
	Params    []string
	Data      map[string]any
}
