// Package apikey creates, lists and revokes the API keys that clients send
// to the gateway as `Authorization: Bearer sk-…`. A key is shown once, when
// it is created; only its SHA-256 is stored (invariant 5), which is also
// what the gateway looks keys up by.
package apikey

import (
	"context"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// MaxActive is how many unrevoked keys one user may hold.
const MaxActive = 20

// ErrNotFound answers for a key that does not exist or is another user's:
// the two are indistinguishable to the caller.
var ErrNotFound = resayil.Errorf(resayil.ENOTFOUND, "The API key does not exist.")

// Key is an API key as listed: never the key itself.
type Key struct {
	ID        resayil.APIKeyID
	AccountID resayil.AccountID
	UserID    resayil.UserID
	Name      string
	// Prefix is the start of the key ("sk-" and 9 more characters), enough
	// for a person to tell keys apart and too little to use.
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// NewKey is a key to store.
type NewKey struct {
	AccountID resayil.AccountID
	UserID    resayil.UserID
	Name      string
	Prefix    string
	Hash      string
	CreatedAt time.Time
}

// Store is what the key service needs from the database.
type Store interface {
	// CreateAPIKey stores k unless the user already has maxActive
	// unrevoked keys, which fails with resayil.ECONFLICT. The count and
	// the insert are one step: concurrent creations cannot pass the limit.
	CreateAPIKey(ctx context.Context, k NewKey, maxActive int) (Key, error)
	// ListAPIKeys returns the user's keys, revoked ones included, newest first.
	ListAPIKeys(ctx context.Context, userID resayil.UserID) ([]Key, error)
	// RevokeAPIKey sets revoked_at on the user's key and returns it. A key
	// that does not exist or belongs to someone else is resayil.ENOTFOUND;
	// revoking a revoked key returns it unchanged.
	RevokeAPIKey(ctx context.Context, userID resayil.UserID, id resayil.APIKeyID, now time.Time) (Key, error)
}

// EventKeyRevoked is the account-changed event kind published when a key is
// revoked; its subject is the key id in decimal. Gateways drop the key from
// their caches when they see it.
const EventKeyRevoked = "key_revoked"

// EventPublisher tells every gateway replica that something about an
// account changed (pkg/accountevents implements it). Publish is called after
// the change has committed; it fails when nobody could be told.
type EventPublisher interface {
	Publish(ctx context.Context, kind string, account resayil.AccountID, subject string) error
}

// Owner is who a key is created for: the user, and the account the key
// draws on (the user's personal account until teams exist).
type Owner struct {
	UserID    resayil.UserID
	AccountID resayil.AccountID
}
