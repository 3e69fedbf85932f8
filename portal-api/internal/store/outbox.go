package store

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/outbox"
	"github.com/resayil/portal/pkg/resayil"
)

// notificationRow is a new row of the notifications outbox; the sender
// owns the columns it leaves to their defaults.
type notificationRow struct {
	ID            int64 `gorm:"primaryKey"`
	DedupeKey     string
	Event         string
	Audience      string
	AccountID     *int64
	UserID        *int64
	Locale        string
	Payload       string
	Status        string
	Attempts      int
	NextAttemptAt time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

func (notificationRow) TableName() string { return "notifications" }

// notificationPayload is notifications.payload: the template's positional
// parameters and context. Params are the English half's; ParamsAr the
// Arabic half's when they differ (absent: the same). The sender sends the
// Arabic half's then the English half's (docs/notification-templates.md).
type notificationPayload struct {
	Params   []string       `json:"params"`
	ParamsAr []string       `json:"params_ar,omitempty"`
	Data     map[string]any `json:"data,omitempty"`
}

// outboxEntry is one event for the outbox. DedupeKey names the event and
// its subject ("welcome:user:7"): a second entry with the key is a no-op.
type outboxEntry struct {
	DedupeKey, Event, Audience string
	Account                    resayil.AccountID
	User                       resayil.UserID
	Params, ParamsAr           []string
	Data                       map[string]any
}

// insertNotification writes an outbox row in the caller's transaction
// unless its dedupe key exists (uq_notifications_dedupe), through
// pkg/outbox, the one insert of the table, and reports whether it wrote
// one. The recipient's locale is the user's (an entry for an account names
// the account's user); admin alerts are in English.
func insertNotification(ctx context.Context, s *Store, n outboxEntry, now time.Time) (bool, error) {
	locale := ""
	switch {
	case n.Audience == AudienceAdmins:
		locale = string(resayil.LocaleEN)
	case n.User != 0:
		if err := s.conn(ctx).Raw(`SELECT locale FROM users WHERE id = ?`, int64(n.User)).Scan(&locale).Error; err != nil {
			return false, fmt.Errorf("notification recipient: %w", err)
		}
	}
	params := n.Params
	if params == nil {
		params = []string{}
	}
	return outbox.Insert(ctx, s.conn(ctx).Statement.ConnPool, s.dialect, outbox.Notification{
		DedupeKey: n.DedupeKey, Event: n.Event, Audience: n.Audience, Account: n.Account, User: n.User, Locale: locale,
		Payload: notificationPayload{Params: params, ParamsAr: n.ParamsAr, Data: n.Data},
	}, now)
}
