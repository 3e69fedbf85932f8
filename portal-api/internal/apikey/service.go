package apikey

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
)

// MaxNameLen bounds a key's name (api_keys.name is VARCHAR(100)).
const MaxNameLen = 100

// Service manages API keys.
type Service struct {
	store  Store
	events EventPublisher
	now    func() time.Time
	log    *slog.Logger
}

// New returns a Service; events announces revocations to the gateways.
// now defaults to time.Now.
func New(store Store, events EventPublisher, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, events: events, now: now, log: log}
}

// Created is a new key with the only copy of its secret.
type Created struct {
	Key
	Secret string
}

// NameProblem returns why name is not acceptable for a key, or "".
func NameProblem(name string) string {
	switch n := utf8.RuneCountInString(strings.TrimSpace(name)); {
	case n == 0:
		return "This field is required."
	case n > MaxNameLen:
		return "Must be at most 100 characters."
	}
	return ""
}

// Create makes a key for owner. Over MaxActive unrevoked keys it fails with
// resayil.ECONFLICT.
func (s *Service) Create(ctx context.Context, owner Owner, name string) (Created, error) {
	name = strings.TrimSpace(name)
	if msg := NameProblem(name); msg != "" {
		return Created{}, resayil.Invalid(resayil.FieldError{Field: "name", Message: msg})
	}
	secret, prefix, hash := Generate()
	k, err := s.store.CreateAPIKey(ctx, NewKey{
		AccountID: owner.AccountID, UserID: owner.UserID, Name: name,
		Prefix: prefix, Hash: hash, CreatedAt: s.clock(),
	}, MaxActive)
	if err != nil {
		return Created{}, err
	}
	return Created{Key: k, Secret: secret}, nil
}

// List returns the user's keys, revoked ones included, newest first.
func (s *Service) List(ctx context.Context, userID resayil.UserID) ([]Key, error) {
	return s.store.ListAPIKeys(ctx, userID)
}

// Revoke revokes the user's key and tells the gateways. Revoking again is
// allowed and announces again, so a client whose first attempt failed to
// publish can simply retry.
func (s *Service) Revoke(ctx context.Context, userID resayil.UserID, id resayil.APIKeyID) (Key, error) {
	k, err := s.store.RevokeAPIKey(ctx, userID, id, s.clock())
	if err != nil {
		return Key{}, err
	}
	if err := s.events.Publish(ctx, EventKeyRevoked, k.AccountID, strconv.FormatInt(int64(k.ID), 10)); err != nil {
		return Key{}, fmt.Errorf("announce key revocation: %w", err)
	}
	return k, nil
}

// clock returns now in UTC at microsecond precision, what MySQL keeps.
func (s *Service) clock() time.Time { return dbtime.Of(s.now()) }
