package store

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"gorm.io/gorm/clause"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/notify"
)

// NotifyStore is notify.Store and notify.AdminStore: the outbox, its
// deliveries and the notifier's state (docs/notifications.md).
//
// Claims are one transaction each: on MariaDB the due rows are read with
// FOR UPDATE SKIP LOCKED, so concurrent workers take disjoint rows without
// waiting for each other; SQLite has no row locks, but its transactions
// take the database's one write lock at BEGIN (package database sets
// _txlock=immediate), so two claims run one after the other and the
// second sees the first's rows already claimed.
type NotifyStore struct{ s *Store }

// Notify returns the notifications store.
func (s *Store) Notify() *NotifyStore { return &NotifyStore{s: s} }

var (
	_ notify.Store      = (*NotifyStore)(nil)
	_ notify.AdminStore = (*NotifyStore)(nil)
)

// skipLocked is the locking clause of the claims: MariaDB's, and nothing
// on SQLite (see NotifyStore).
func (n *NotifyStore) skipLocked() string {
	if n.s.dialect == migrations.MySQL {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// maxErrorLen is notification_deliveries.last_error's width, in
// characters.
const maxErrorLen = 512

// clip cuts s to at most n characters, on a character boundary.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

const outboxColumns = `id, dedupe_key, event, audience, account_id, user_id, locale, payload, status, last_error, created_at, updated_at`

// outboxRow is an outbox row as read.
type outboxRow struct {
	ID        int64
	DedupeKey string
	Event     string
	Audience  string
	AccountID *int64
	UserID    *int64
	Locale    string
	Payload   string
	Status    string
	LastError string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (r outboxRow) toDomain() notify.Notification {
	n := notify.Notification{ID: r.ID, DedupeKey: r.DedupeKey, Event: r.Event, Audience: r.Audience, Locale: resayil.Locale(r.Locale),
		Payload: r.Payload, Status: r.Status, LastError: r.LastError, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.AccountID != nil {
		n.Account = resayil.AccountID(*r.AccountID)
	}
	if r.UserID != nil {
		n.User = resayil.UserID(*r.UserID)
	}
	return n
}

// ExpandTx implements notify.Store.
func (n *NotifyStore) ExpandTx(ctx context.Context, fn func(tx notify.ExpandTx) error) error {
	return n.s.Tx(ctx, func(tx *Store) error { return fn(expandTx{n: &NotifyStore{s: tx}}) })
}

// expandTx is notify.ExpandTx on a Store bound to one transaction.
type expandTx struct{ n *NotifyStore }

// DueNotifications implements notify.ExpandTx (ix_notifications_due).
func (t expandTx) DueNotifications(ctx context.Context, now time.Time, limit int) ([]notify.Notification, error) {
	var rows []outboxRow
	err := t.n.s.conn(ctx).Raw(`SELECT `+outboxColumns+` FROM notifications
WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`+t.n.skipLocked(),
		notify.NotificationPending, dbtime.Of(now), limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("due notifications: %w", err)
	}
	out := make([]notify.Notification, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// candidateRow is a user who may receive a notification.
type candidateRow struct {
	ID            int64
	Phone         string
	Locale        string
	WhatsappOptIn bool
	DisabledAt    *time.Time
}

const candidateColumns = `u.id, u.phone, u.locale, u.whatsapp_opt_in, u.disabled_at`

// Candidates implements notify.ExpandTx.
func (t expandTx) Candidates(ctx context.Context, n notify.Notification) ([]notify.Candidate, error) {
	db := t.n.s.conn(ctx)
	var rows []candidateRow
	var err error
	switch {
	case n.Audience == notify.AudienceAdmins:
		err = db.Raw(`SELECT `+candidateColumns+` FROM users u WHERE u.role = ? ORDER BY u.id`, string(resayil.RoleAdmin)).Scan(&rows).Error
	case n.Account != 0:
		var kind string
		if err := db.Raw(`SELECT kind FROM accounts WHERE id = ?`, int64(n.Account)).Scan(&kind).Error; err != nil {
			return nil, fmt.Errorf("account of notification %d: %w", n.ID, err)
		}
		if resayil.AccountKind(kind) == resayil.AccountTeam {
			err = db.Raw(`SELECT `+candidateColumns+` FROM teams t
JOIN team_members m ON m.team_id = t.id JOIN users u ON u.id = m.user_id
WHERE t.account_id = ? AND m.role = ? ORDER BY u.id`, int64(n.Account), notify.TeamAdminRole).Scan(&rows).Error
		} else if n.User != 0 {
			err = db.Raw(`SELECT `+candidateColumns+` FROM users u WHERE u.id = ?`, int64(n.User)).Scan(&rows).Error
		} else {
			err = db.Raw(`SELECT `+candidateColumns+` FROM users u WHERE u.account_id = ?`, int64(n.Account)).Scan(&rows).Error
		}
	case n.User != 0:
		err = db.Raw(`SELECT `+candidateColumns+` FROM users u WHERE u.id = ?`, int64(n.User)).Scan(&rows).Error
	}
	if err != nil {
		return nil, fmt.Errorf("recipients of notification %d: %w", n.ID, err)
	}
	out := make([]notify.Candidate, len(rows))
	for i, r := range rows {
		out[i] = notify.Candidate{User: resayil.UserID(r.ID), Phone: r.Phone, Locale: resayil.Locale(r.Locale), OptIn: r.WhatsappOptIn, Disabled: r.DisabledAt != nil}
	}
	return out, nil
}

// deliveryRow is a new row of notification_deliveries.
type deliveryRow struct {
	ID             int64 `gorm:"primaryKey"`
	NotificationID int64
	UserID         *int64
	Phone          string
	Status         string
	Attempts       int
	NextAttemptAt  time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (deliveryRow) TableName() string { return "notification_deliveries" }

// Expand implements notify.ExpandTx (uq_deliveries_recipient: one
// delivery per number of a row).
func (t expandTx) Expand(ctx context.Context, n notify.Notification, to []notify.Recipient, now time.Time) error {
	now = dbtime.Of(now)
	rows := make([]deliveryRow, len(to))
	for i, r := range to {
		rows[i] = deliveryRow{NotificationID: n.ID, Phone: r.Phone, Status: string(notify.Pending), NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		if r.User != 0 {
			u := int64(r.User)
			rows[i].UserID = &u
		}
	}
	if err := t.n.s.conn(ctx).Create(&rows).Error; err != nil {
		return fmt.Errorf("deliveries of notification %d: %w", n.ID, err)
	}
	return t.mark(ctx, n, notify.NotificationExpanded, "", now)
}

// Skip implements notify.ExpandTx.
func (t expandTx) Skip(ctx context.Context, n notify.Notification, reason string, now time.Time) error {
	return t.mark(ctx, n, notify.NotificationSkipped, reason, dbtime.Of(now))
}

func (t expandTx) mark(ctx context.Context, n notify.Notification, status, reason string, now time.Time) error {
	res := t.n.s.conn(ctx).Exec(`UPDATE notifications SET status = ?, last_error = ?, updated_at = ? WHERE id = ? AND status = ?`,
		status, clip(reason, maxErrorLen), now, n.ID, notify.NotificationPending)
	if res.Error != nil {
		return fmt.Errorf("mark notification %d %s: %w", n.ID, status, res.Error)
	}
	if res.RowsAffected != 1 {
		// The row was locked by this transaction; on SQLite the
		// transaction holds the write lock. Neither lets it change.
		return fmt.Errorf("mark notification %d %s: it is no longer pending", n.ID, status)
	}
	return nil
}

// ClaimDeliveries implements notify.Store: pending rows due, then sending
// rows whose lease ran out, each read in ix_deliveries_due's order so
// that MariaDB reads (and locks) no more rows than it returns. A claim
// sets next_attempt_at to the lease's end too, so the same index finds
// expired leases.
func (n *NotifyStore) ClaimDeliveries(ctx context.Context, now, leaseUntil time.Time, limit int) ([]notify.Job, error) {
	now, leaseUntil = dbtime.Of(now), dbtime.Of(leaseUntil)
	var ids []int64
	err := n.s.Tx(ctx, func(tx *Store) error {
		ids = ids[:0]
		for _, st := range []notify.DeliveryStatus{notify.Pending, notify.Sending} {
			var got []int64
			q, args := n.dueQuery(st, now, limit-len(ids))
			err := tx.conn(ctx).Raw(q, args...).Scan(&got).Error
			if err != nil {
				return fmt.Errorf("due deliveries: %w", err)
			}
			if ids = append(ids, got...); len(ids) >= limit {
				break
			}
		}
		if len(ids) == 0 {
			return nil
		}
		return tx.conn(ctx).Exec(`UPDATE notification_deliveries SET status = ?, lease_until = ?, next_attempt_at = ?, updated_at = ? WHERE id IN ?`,
			string(notify.Sending), leaseUntil, leaseUntil, now, ids).Error
	})
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	return n.jobs(ctx, ids)
}

// dueQuery reads the ids of due deliveries of one status, in
// ix_deliveries_due's order (TestNotifyQueries_UseIndexes).
func (n *NotifyStore) dueQuery(st notify.DeliveryStatus, now time.Time, limit int) (string, []any) {
	return `SELECT id FROM notification_deliveries
WHERE status = ? AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?` + n.skipLocked(), []any{string(st), now, limit}
}

// jobRow is a delivery with its outbox row (N), template (T) and user.
// The delivery's columns fill Delivery: a named field with GORM's embedded
// tag (GORM cannot set the fields of an anonymous embedded struct whose
// type is unexported).
type jobRow struct {
	Delivery deliveryReadRow `gorm:"embedded"`

	NDedupeKey  string
	NAudience   string
	NAccountID  *int64
	NUserID     *int64
	NLocale     string
	NPayload    string
	NStatus     string
	NCreatedAt  time.Time
	TName       *string
	TLanguage   *string
	TCategory   *string
	TParamCount *int
	UserLocale  *string
}

func (n *NotifyStore) jobs(ctx context.Context, ids []int64) ([]notify.Job, error) {
	var rows []jobRow
	err := n.s.conn(ctx).Raw(`SELECT `+deliveryColumns+`,
 n.dedupe_key AS n_dedupe_key, n.audience AS n_audience, n.account_id AS n_account_id, n.user_id AS n_user_id,
 n.locale AS n_locale, n.payload AS n_payload, n.status AS n_status, n.created_at AS n_created_at,
 t.name AS t_name, t.language_code AS t_language, t.category AS t_category, t.param_count AS t_param_count,
 u.locale AS user_locale
FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
LEFT JOIN whatsapp_templates t ON t.event = n.event
LEFT JOIN users u ON u.id = d.user_id
WHERE d.id IN ? ORDER BY d.id`, ids).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("claimed deliveries: %w", err)
	}
	out := make([]notify.Job, len(rows))
	for i, r := range rows {
		j := notify.Job{Delivery: r.Delivery.toDomain()}
		j.Notification = outboxRow{ID: r.Delivery.NotificationID, DedupeKey: r.NDedupeKey, Event: r.Delivery.Event, Audience: r.NAudience, AccountID: r.NAccountID,
			UserID: r.NUserID, Locale: r.NLocale, Payload: r.NPayload, Status: r.NStatus, CreatedAt: r.NCreatedAt, UpdatedAt: r.NCreatedAt}.toDomain()
		if r.TName != nil {
			j.Template = &notify.Template{Event: r.Delivery.Event, Name: *r.TName, LanguageCode: deref(r.TLanguage), Category: deref(r.TCategory), ParamCount: derefInt(r.TParamCount)}
		}
		if r.UserLocale != nil {
			j.UserLocale = resayil.Locale(*r.UserLocale)
		}
		out[i] = j
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

// The outcomes of a claimed delivery. Each applies only to a delivery
// still sending: a lease that ran out and was claimed again leaves both
// workers sending it (docs/notifications.md), and the first to record
// wins.

// RecordSent implements notify.Store.
func (n *NotifyStore) RecordSent(ctx context.Context, id int64, messageID string, now time.Time) error {
	now = dbtime.Of(now)
	return n.final(ctx, id, `status = ?, provider_message_id = ?, sent_at = ?, attempts = attempts + 1, lease_until = NULL, last_error = '', updated_at = ?`,
		string(notify.Sent), messageID, now, now)
}

// RecordRetry implements notify.Store.
func (n *NotifyStore) RecordRetry(ctx context.Context, id int64, next time.Time, lastErr string, now time.Time) error {
	return n.outcome(ctx, id, `status = ?, next_attempt_at = ?, attempts = attempts + 1, lease_until = NULL, last_error = ?, updated_at = ?`,
		string(notify.Pending), dbtime.Of(next), clip(lastErr, maxErrorLen), dbtime.Of(now))
}

// RecordFailed implements notify.Store.
func (n *NotifyStore) RecordFailed(ctx context.Context, id int64, lastErr string, now time.Time) error {
	return n.final(ctx, id, `status = ?, attempts = attempts + 1, lease_until = NULL, last_error = ?, updated_at = ?`,
		string(notify.Failed), clip(lastErr, maxErrorLen), dbtime.Of(now))
}

// final records an outcome after which the delivery is not sent again by
// the worker, and, in the same transaction, blanks a password-reset code
// from its outbox row: the code is a secret that only the send needed. An
// admin's retry of such a delivery then fails as unsendable instead of
// sending a code that may have been used since.
func (n *NotifyStore) final(ctx context.Context, id int64, set string, args ...any) error {
	return n.s.Tx(ctx, func(tx *Store) error {
		if err := (&NotifyStore{s: tx}).outcome(ctx, id, set, args...); err != nil {
			return err
		}
		if err := tx.conn(ctx).Exec(`UPDATE notifications SET payload = ? WHERE event = ? AND id = (SELECT notification_id FROM notification_deliveries WHERE id = ?)`,
			blankedCode, account.EventPasswordResetCode, id).Error; err != nil {
			return fmt.Errorf("blank the reset code of delivery %d: %w", id, err)
		}
		return nil
	})
}

// blankedCode is a sent password-reset code's outbox payload.
const blankedCode = `{"params":[]}`

// Release implements notify.Store.
func (n *NotifyStore) Release(ctx context.Context, id int64, now time.Time) error {
	now = dbtime.Of(now)
	return n.outcome(ctx, id, `status = ?, next_attempt_at = ?, lease_until = NULL, updated_at = ?`, string(notify.Pending), now, now)
}

func (n *NotifyStore) outcome(ctx context.Context, id int64, set string, args ...any) error {
	args = append(args, id, string(notify.Sending))
	if err := n.s.conn(ctx).Exec(`UPDATE notification_deliveries SET `+set+` WHERE id = ? AND status = ?`, args...).Error; err != nil {
		return fmt.Errorf("record delivery %d: %w", id, err)
	}
	return nil
}

// stateRow is notifier_state's one row (id 1).
type stateRow struct {
	ID          int `gorm:"primaryKey"`
	PausedAt    *time.Time
	PauseReason string
	UpdatedAt   time.Time
}

func (stateRow) TableName() string { return "notifier_state" }

// State implements notify.Store; without its row, sending runs.
func (n *NotifyStore) State(ctx context.Context) (notify.State, error) {
	var rows []stateRow
	if err := n.s.conn(ctx).Raw(`SELECT id, paused_at, pause_reason, updated_at FROM notifier_state WHERE id = 1`).Scan(&rows).Error; err != nil {
		return notify.State{}, fmt.Errorf("notifier state: %w", err)
	}
	if len(rows) == 0 {
		return notify.State{}, nil
	}
	r := rows[0]
	return notify.State{PausedAt: utcPtr(r.PausedAt), Reason: r.PauseReason, UpdatedAt: r.UpdatedAt.UTC()}, nil
}

// Pause implements notify.Store. The conditional UPDATE's affected-row
// count says which caller paused (raw SQL on purpose): that one alone
// writes the alert, so one pause is one alert however many workers hit
// the refusal.
func (n *NotifyStore) Pause(ctx context.Context, reason string, alert notify.Alert, now time.Time) (bool, error) {
	now = dbtime.Of(now)
	var paused bool
	err := n.s.Tx(ctx, func(tx *Store) error {
		paused = false
		if err := tx.ensureState(ctx, now); err != nil {
			return err
		}
		res := tx.conn(ctx).Exec(`UPDATE notifier_state SET paused_at = ?, pause_reason = ?, updated_at = ? WHERE id = 1 AND paused_at IS NULL`,
			now, clip(reason, maxErrorLen), now)
		if res.Error != nil {
			return fmt.Errorf("pause notifier: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return nil
		}
		paused = true
		_, err := insertOutbox(ctx, tx, alert, now)
		return err
	})
	return paused, err
}

// ensureState creates notifier_state's row unless it exists.
func (s *Store) ensureState(ctx context.Context, now time.Time) error {
	row := stateRow{ID: 1, UpdatedAt: now}
	if err := s.conn(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "id"}}, DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("notifier state: %w", err)
	}
	return nil
}

// insertOutbox writes an admin alert to the outbox unless its dedupe key
// is there (uq_notifications_dedupe).
func insertOutbox(ctx context.Context, s *Store, a notify.Alert, now time.Time) (bool, error) {
	return insertNotification(ctx, s, outboxEntry{DedupeKey: a.DedupeKey, Event: a.Event, Audience: AudienceAdmins,
		Params: a.Params, Data: a.Data}, now)
}

// ClaimProbe implements notify.Store: updated_at is the last pause or
// probe, moved forward by one caller per interval (the affected-row
// count, raw SQL on purpose).
func (n *NotifyStore) ClaimProbe(ctx context.Context, now time.Time, every time.Duration) (bool, error) {
	now = dbtime.Of(now)
	res := n.s.conn(ctx).Exec(`UPDATE notifier_state SET updated_at = ? WHERE id = 1 AND paused_at IS NOT NULL AND updated_at <= ?`, now, now.Add(-every))
	if res.Error != nil {
		return false, fmt.Errorf("claim probe: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// Resume implements notify.Store.
func (n *NotifyStore) Resume(ctx context.Context, now time.Time) (bool, error) {
	_, ok, err := n.s.resume(ctx, now)
	return ok, err
}

// resume ends a pause and returns the state it ended.
func (s *Store) resume(ctx context.Context, now time.Time) (stateRow, bool, error) {
	var before []stateRow
	if err := s.conn(ctx).Raw(`SELECT id, paused_at, pause_reason, updated_at FROM notifier_state WHERE id = 1`).Scan(&before).Error; err != nil {
		return stateRow{}, false, fmt.Errorf("notifier state: %w", err)
	}
	now = dbtime.Of(now)
	res := s.conn(ctx).Exec(`UPDATE notifier_state SET paused_at = NULL, pause_reason = '', updated_at = ? WHERE id = 1 AND paused_at IS NOT NULL`, now)
	if res.Error != nil {
		return stateRow{}, false, fmt.Errorf("resume notifier: %w", res.Error)
	}
	if res.RowsAffected != 1 || len(before) == 0 {
		return stateRow{}, false, nil
	}
	return before[0], true, nil
}
