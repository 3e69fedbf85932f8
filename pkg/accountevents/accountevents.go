// Package accountevents tells every gateway replica that something about an
// account or an API key changed: a key was revoked, an account disabled or
// enabled, a plan or the cloud-budget cap changed, credits were granted.
//
// The gateway caches key lookups and account state so that a warm request
// reads no database; these events are how a cache learns that an entry is
// stale, within 5 seconds (docs/architecture.md "Failure behaviour"). Two
// implementations sit behind one pair of interfaces and pass one
// conformance suite (accounteventstest):
//
//   - accounteventsredis: Redis pub/sub, for deployments with Redis.
//   - accounteventssql: a row per event in the account_events table, polled
//     about once a second, for the embedded (SQLite) mode.
//
// # Delivery contract
//
// Events are hints to drop cached state, not a durable log. A subscription
// delivers every event published after it became live, in publish order for
// events published one after another, and never replays older ones. Whenever
// a subscription becomes live — the first time and after every reconnect that
// may have lost events — the handler first receives a synthetic event of
// KindResync, which means "drop every cached entry": pub/sub messages sent
// while a connection was down are gone, so a handler that only reacted to the
// events it saw would keep serving a revoked key. The first resync doubles as
// the signal that the subscription is live.
//
// # Publish after commit
//
// Callers publish after the transaction that made the change has committed,
// in both modes: a subscriber reacting to the event re-reads the database and
// must see the new state (publishing inside the transaction would let a fast
// gateway re-cache the old one). If Publish fails after the commit, the caller
// reports the error; the operations that publish are idempotent, so running
// them again publishes again. accounteventssql also offers Bus.With for
// callers that want the event row inside their own transaction.
package accountevents

import (
	"context"
	"time"

	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
)

// Kind says what changed. It is stored in a VARCHAR(32) column.
type Kind string

// Event kinds. Handlers must treat a kind they do not know as KindResync:
// newer publishers may send kinds an older gateway has never heard of.
const (
	// KindResync is synthetic: subscriptions deliver it when they become live
	// and after any gap in which events may have been lost. Drop all caches.
	// It cannot be published.
	KindResync Kind = "resync"
	// KindKeyRevoked: Subject is the key's id.
	KindKeyRevoked Kind = "key_revoked"
	// KindAccountDisabled and KindAccountEnabled: Account is the user's
	// personal account and Subject is "user:<user id>" (a team member's keys
	// draw on the team's account, so caches match the user too).
	KindAccountDisabled Kind = "account_disabled"
	KindAccountEnabled  Kind = "account_enabled"
	// KindPlanChanged: the account's subscription (tier, limits, expiry).
	KindPlanChanged Kind = "plan_changed"
	// KindCloudBudgetChanged is platform-wide (Account 0).
	KindCloudBudgetChanged Kind = "cloud_budget_changed"
	// KindWalletGranted: credits were granted to the account.
	KindWalletGranted Kind = "wallet_granted"
)

// Column limits of account_events, enforced for every implementation so both
// modes accept exactly the same events.
const (
	MaxKindLen    = 32
	MaxSubjectLen = 128
)

// Event says that something about an account, or about the whole platform,
// changed. It carries no new state: subscribers re-read what they need.
type Event struct {
	Kind Kind
	// Account is the account concerned; 0 means platform-wide.
	Account resayil.AccountID
	// Subject narrows the event down, e.g. a key id or "user:42"; may be empty.
	Subject string
	// At is when the change happened, UTC with microsecond precision (what
	// MySQL's DATETIME(6) keeps). Publish sets it when zero.
	At time.Time
}

// Publisher announces a change to every subscriber.
type Publisher interface {
	// Publish sends ev to every live subscription. It fails with
	// resayil.EINVALID for an event that cannot be published (empty or
	// resync kind, too long a kind or subject, negative account) and with
	// resayil.EUNAVAILABLE when the transport (Redis, the database) fails;
	// then nobody has been told and the caller should report the error.
	Publish(ctx context.Context, ev Event) error
}

// Subscriber delivers published events to a handler.
type Subscriber interface {
	// Subscribe calls handle with each event, one at a time on one goroutine,
	// until ctx ends; then it returns nil, and handle is never called after
	// Subscribe has returned. It never gives up on its own: transport errors
	// are retried with backoff, and a KindResync event precedes the events of
	// every (re)connection that may have missed some (see the package doc).
	// handle should be quick (drop a cache entry); a slow handler delays the
	// events behind it.
	Subscribe(ctx context.Context, handle func(Event)) error
}

// Normalize validates ev for publishing and returns it as every
// implementation stores it: At defaulted to now when zero, in UTC and
// truncated to microseconds, so a subscriber receives exactly the event that
// Normalize returned.
func Normalize(ev Event, now time.Time) (Event, error) {
	switch {
	case ev.Kind == "":
		return Event{}, field("kind", "The event kind is required.")
	case ev.Kind == KindResync:
		return Event{}, field("kind", "The resync event is delivered by subscriptions and cannot be published.")
	case len(ev.Kind) > MaxKindLen:
		return Event{}, field("kind", "The event kind must be at most 32 bytes.")
	case len(ev.Subject) > MaxSubjectLen:
		return Event{}, field("subject", "The event subject must be at most 128 bytes.")
	case ev.Account < 0:
		return Event{}, field("account", "The account id must not be negative.")
	}
	if ev.At.IsZero() {
		ev.At = now
	}
	ev.At = dbtime.Of(ev.At)
	return ev, nil
}

// Resync returns the synthetic event a subscription delivers when it becomes
// live or may have lost events.
func Resync(now time.Time) Event {
	return Event{Kind: KindResync, At: dbtime.Of(now)}
}

func field(name, msg string) error {
	return resayil.Invalid(resayil.FieldError{Field: name, Message: msg})
}
