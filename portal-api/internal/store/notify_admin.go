package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/ledger"
	"github.com/resayil/portal/portal-api/internal/notify"
)

// Audit actions of the notifications admin routes.
const (
	AuditDeliveryRetry  = "notification_delivery.retry"
	AuditNotifierResume = "notifier.resume"
)

// deliveryColumns read a delivery (d) with its outbox row's event (n).
const deliveryColumns = `d.id, d.notification_id, n.event, d.user_id, d.phone, d.status, d.attempts, d.next_attempt_at, d.lease_until,
 d.provider_message_id, d.provider_status, d.provider_status_at, d.last_error, d.created_at, d.sent_at, d.updated_at`

// deliveryReadRow is a delivery as deliveryColumns read it.
type deliveryReadRow struct {
	ID                int64
	NotificationID    int64
	Event             string
	UserID            *int64
	Phone             string
	Status            string
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

func (r deliveryReadRow) toDomain() notify.Delivery {
	d := notify.Delivery{ID: r.ID, NotificationID: r.NotificationID, Event: r.Event, Phone: r.Phone, Status: notify.DeliveryStatus(r.Status),
		Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt.UTC(), LeaseUntil: utcPtr(r.LeaseUntil), ProviderMessageID: r.ProviderMessageID,
		ProviderStatus: r.ProviderStatus, ProviderStatusAt: utcPtr(r.ProviderStatusAt), LastError: r.LastError, CreatedAt: r.CreatedAt.UTC(),
		SentAt: utcPtr(r.SentAt), UpdatedAt: r.UpdatedAt.UTC()}
	if r.UserID != nil {
		d.User = resayil.UserID(*r.UserID)
	}
	return d
}

func toDeliveries(rows []deliveryReadRow) []notify.Delivery {
	out := make([]notify.Delivery, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out
}

// sqlConds builds a conjunction of conditions.
type sqlConds struct {
	conds []string
	args  []any
}

func (w *sqlConds) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *sqlConds) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// Notifications implements notify.AdminStore: newest first by id (the
// primary key); a phone goes through ix_deliveries_phone.
func (n *NotifyStore) Notifications(ctx context.Context, f notify.NotificationFilter, before int64, limit int) ([]notify.Notification, error) {
	var w sqlConds
	if f.Event != "" {
		w.add("event = ?", f.Event)
	}
	if f.Status != "" {
		w.add("status = ?", f.Status)
	}
	if f.Phone != "" {
		w.add("id IN (SELECT notification_id FROM notification_deliveries WHERE phone = ?)", f.Phone)
	}
	if before > 0 {
		w.add("id < ?", before)
	}
	var rows []outboxRow
	err := n.s.conn(ctx).Raw(`SELECT `+outboxColumns+` FROM notifications`+w.String()+` ORDER BY id DESC LIMIT ?`, append(w.args, limit)...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	out := make([]notify.Notification, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// Notification implements notify.AdminStore.
func (n *NotifyStore) Notification(ctx context.Context, id int64) (notify.Notification, error) {
	var rows []outboxRow
	if err := n.s.conn(ctx).Raw(`SELECT `+outboxColumns+` FROM notifications WHERE id = ?`, id).Scan(&rows).Error; err != nil {
		return notify.Notification{}, fmt.Errorf("notification %d: %w", id, err)
	}
	if len(rows) == 0 {
		return notify.Notification{}, resayil.Errorf(resayil.ENOTFOUND, "The notification does not exist.")
	}
	return rows[0].toDomain(), nil
}

// Deliveries implements notify.AdminStore: newest first by id; a phone
// goes through ix_deliveries_phone, a status through ix_deliveries_due.
func (n *NotifyStore) Deliveries(ctx context.Context, f notify.DeliveryFilter, before int64, limit int) ([]notify.Delivery, error) {
	var w sqlConds
	if f.Status != "" {
		w.add("d.status = ?", string(f.Status))
	}
	if f.Event != "" {
		w.add("n.event = ?", f.Event)
	}
	if f.Phone != "" {
		w.add("d.phone = ?", f.Phone)
	}
	if before > 0 {
		w.add("d.id < ?", before)
	}
	var rows []deliveryReadRow
	err := n.s.conn(ctx).Raw(`SELECT `+deliveryColumns+` FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id`+
		w.String()+` ORDER BY d.id DESC LIMIT ?`, append(w.args, limit)...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	return toDeliveries(rows), nil
}

// DeliveriesOf implements notify.AdminStore (uq_deliveries_recipient).
func (n *NotifyStore) DeliveriesOf(ctx context.Context, notification int64) ([]notify.Delivery, error) {
	return n.s.deliveriesWhere(ctx, "d.notification_id = ?", notification)
}

func (s *Store) deliveriesWhere(ctx context.Context, cond string, args ...any) ([]notify.Delivery, error) {
	var rows []deliveryReadRow
	err := s.conn(ctx).Raw(`SELECT `+deliveryColumns+` FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id
WHERE `+cond+` ORDER BY d.id`, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	return toDeliveries(rows), nil
}

// RetryDelivery implements notify.AdminStore: the delivery is locked
// (forUpdate), so a retry and a worker's outcome or a webhook cannot
// interleave.
func (n *NotifyStore) RetryDelivery(ctx context.Context, id int64, by notify.Actor, now time.Time) (notify.Delivery, error) {
	now = dbtime.Of(now)
	var out notify.Delivery
	err := n.s.Tx(ctx, func(tx *Store) error {
		var cur []deliveryRow
		if err := tx.conn(ctx).Clauses(forUpdate).Where("id = ?", id).Limit(1).Find(&cur).Error; err != nil {
			return fmt.Errorf("delivery %d: %w", id, err)
		}
		if len(cur) == 0 {
			return resayil.Errorf(resayil.ENOTFOUND, "The notification delivery does not exist.")
		}
		if cur[0].Status != string(notify.Failed) {
			return resayil.Errorf(resayil.ECONFLICT, "The delivery is %s: only a failed delivery can be retried.", cur[0].Status)
		}
		prev, err := tx.deliveriesWhere(ctx, "d.id = ?", id)
		if err != nil || len(prev) != 1 {
			return fmt.Errorf("delivery %d: %w", id, err)
		}
		err = tx.conn(ctx).Exec(`UPDATE notification_deliveries SET status = ?, attempts = 0, next_attempt_at = ?, lease_until = NULL, last_error = '',
 provider_message_id = '', provider_status = '', provider_status_at = NULL, sent_at = NULL, updated_at = ? WHERE id = ?`,
			string(notify.Pending), now, now, id).Error
		if err != nil {
			return fmt.Errorf("retry delivery %d: %w", id, err)
		}
		err = tx.insertAudit(ctx, ledger.Audit{ActorUserID: by.User, IP: by.IP, Action: AuditDeliveryRetry, TargetType: "notification_delivery",
			TargetID: strconv.FormatInt(id, 10), Details: map[string]any{
				"notification_id": prev[0].NotificationID, "event": prev[0].Event, "attempts": prev[0].Attempts, "last_error": prev[0].LastError,
			}}, now)
		if err != nil {
			return err
		}
		after, err := tx.deliveriesWhere(ctx, "d.id = ?", id)
		if err != nil || len(after) != 1 {
			return fmt.Errorf("delivery %d: %w", id, err)
		}
		out = after[0]
		return nil
	})
	return out, err
}

// ResumeBy implements notify.AdminStore.
func (n *NotifyStore) ResumeBy(ctx context.Context, by notify.Actor, now time.Time) (bool, error) {
	var resumed bool
	err := n.s.Tx(ctx, func(tx *Store) error {
		before, ok, err := tx.resume(ctx, now)
		if resumed = ok; err != nil || !ok {
			return err
		}
		details := map[string]any{"reason": before.PauseReason}
		if before.PausedAt != nil {
			details["paused_at"] = before.PausedAt.UTC().Format(time.RFC3339Nano)
		}
		return tx.insertAudit(ctx, ledger.Audit{ActorUserID: by.User, IP: by.IP, Action: AuditNotifierResume, TargetType: "notifier",
			TargetID: "1", Details: details}, dbtime.Of(now))
	})
	return resumed, err
}

// DeliveryCounts implements notify.AdminStore (ix_deliveries_due, whose
// first column is the status).
func (n *NotifyStore) DeliveryCounts(ctx context.Context) (notify.Counts, error) {
	var rows []struct {
		Status string
		N      int64
	}
	if err := n.s.conn(ctx).Raw(`SELECT status, COUNT(*) AS n FROM notification_deliveries GROUP BY status`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count deliveries: %w", err)
	}
	out := notify.Counts{}
	for _, s := range notify.DeliveryStatuses {
		out[s] = 0
	}
	for _, r := range rows {
		out[notify.DeliveryStatus(r.Status)] = r.N
	}
	return out, nil
}

// ApplyStatus implements notify.AdminStore with one conditional UPDATE
// (ix_deliveries_message): the status moves only from one ranked under
// it, so webhooks out of order or repeated change nothing (raw SQL on
// purpose: the condition is the rule).
func (n *NotifyStore) ApplyStatus(ctx context.Context, u notify.StatusUpdate, now time.Time) (bool, error) {
	now = dbtime.Of(now)
	at := now
	if !u.At.IsZero() {
		at = dbtime.Of(u.At)
	}
	set, args := `provider_status = ?, provider_status_at = ?, updated_at = ?`, []any{u.Status, at, now}
	if u.Status == string(notify.Failed) {
		set += `, status = ?, lease_until = NULL, last_error = ?`
		args = append(args, string(notify.Failed), clip(u.LastError, maxErrorLen))
	}
	args = append(args, u.MessageID, u.Below)
	res := n.s.conn(ctx).Exec(`UPDATE notification_deliveries SET `+set+` WHERE provider_message_id = ? AND provider_status IN ?`, args...)
	if res.Error != nil {
		return false, fmt.Errorf("apply status %s of %s: %w", u.Status, u.MessageID, res.Error)
	}
	return res.RowsAffected > 0, nil
}
