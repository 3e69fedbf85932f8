package store

import (
	"context"
	"strconv"
	"time"

	"github.com/resayil/portal/portal-api/internal/account"
)

// EventWelcome is the notification a registration writes.
const EventWelcome = "welcome"

// welcome puts u's welcome notification into the outbox in the caller's
// transaction, once per user (welcome:user:<id>); its one parameter is
// the user's name.
func (s *Store) welcome(ctx context.Context, u account.User, now time.Time) error {
	_, err := insertNotification(ctx, s, outboxEntry{DedupeKey: EventWelcome + ":user:" + strconv.FormatInt(int64(u.ID), 10),
		Event: EventWelcome, Audience: AudienceUser, Account: u.AccountID, User: u.ID,
		Params: []string{u.Name}}, now)
	return err
}
