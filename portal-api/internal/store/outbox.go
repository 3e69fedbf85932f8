package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

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
// unless its dedupe key exists (uq_notifications_dedupe), and reports
// whether it wrote one. The recipient's locale is the user's; an entry
// for an account names the account's user; admin alerts are in English.
func insertNotification(ctx context.Context, s *Store, n outboxEntry, now time.Time) (bool, error) {
	var who struct {
		ID     int64
		Locale string
	}
	if n.User != 0 {
		if err := s.conn(ctx).Raw(`SELECT id, locale FROM users WHERE id = ?`, int64(n.User)).Scan(&who).Error; err != nil {
			return false, fmt.Errorf("notification recipient: %w", err)
		}
	} else if n.Account != 0 {
		if err := s.conn(ctx).Raw(`SELECT id, locale FROM users WHERE account_id = ?`, int64(n.Account)).Scan(&who).Error; err != nil {
			return false, fmt.Errorf("notification recipient: %w", err)
		}
	}
	locale := who.Locale
	if locale == "" || n.Audience == AudienceAdmins {
		locale = string(resayil.LocaleEN)
	}
	params := n.Params
	if params == nil {
		params = []string{}
	}
	payload, err := json.Marshal(notificationPayload{Params: params, ParamsAr: n.ParamsAr, Data: n.Data})
	if err != nil {
		return false, err
	}
	row := notificationRow{DedupeKey: n.DedupeKey, Event: n.Event, Audience: n.Audience, Locale: locale, Payload: string(payload),
		Status: "pending", NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
	if n.Account != 0 {
		acct := int64(n.Account)
		row.AccountID = &acct
	}
	if who.ID != 0 {
		row.UserID = &who.ID
	}
	res := s.conn(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "dedupe_key"}}, DoNothing: true}).Create(&row)
	if res.Error != nil {
		return false, fmt.Errorf("insert notification %s: %w", n.DedupeKey, res.Error)
	}
	// A dedupe key already in the outbox inserts nothing: 0 rows (MySQL's
	// no-op ON DUPLICATE KEY UPDATE, SQLite's DO NOTHING).
	return res.RowsAffected == 1, nil
}
