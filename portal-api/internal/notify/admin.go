package notify

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/whatsapp"
)

// Pages of the admin listings.
const (
	DefaultPage = 20
	MaxPage     = 100
)

// NotificationFilter narrows the outbox listing; zero fields do not
// filter. Phone matches rows with a delivery to that number.
type NotificationFilter struct {
	Event  string
	Status string
	Phone  string
}

// DeliveryFilter narrows the delivery listing; zero fields do not filter.
type DeliveryFilter struct {
	Status DeliveryStatus
	Event  string
	Phone  string
}

// ListQuery is a listing's raw query: filters, the cursor (the last id
// of the previous page) and the page size, as the client sent them.
type ListQuery struct {
	Event, Status, Phone string
	Cursor               string
	Limit                string
}

// NotificationPage is a page of the outbox, newest first; Next is the
// cursor of the next page, 0 on the last.
type NotificationPage struct {
	Notifications []Notification
	Next          int64
}

// DeliveryPage is a page of deliveries, newest first.
type DeliveryPage struct {
	Deliveries []Delivery
	Next       int64
}

// Counts are deliveries per status.
type Counts map[DeliveryStatus]int64

// Actor is the admin acting, for the audit log.
type Actor struct {
	User resayil.UserID
	IP   string
}

// StatusUpdate is one status webhook applied to the delivery with its
// message id: Status replaces ProviderStatus only when one of Below
// (the statuses ranked under it, "" included) is there now, so statuses
// only move forward, whatever order they arrive in, and a repeat is a
// no-op. A failed status also fails the delivery with LastError.
type StatusUpdate struct {
	MessageID string
	Status    string
	Below     []string
	At        time.Time
	LastError string
}

// AdminStore is what the admin pages and the status webhook need of the
// database.
type AdminStore interface {
	// Notifications returns up to limit outbox rows matching f with id
	// below before (0: from the newest), newest first.
	Notifications(ctx context.Context, f NotificationFilter, before int64, limit int) ([]Notification, error)
	// Notification returns one outbox row, or an ENOTFOUND error.
	Notification(ctx context.Context, id int64) (Notification, error)
	// Deliveries returns up to limit deliveries matching f with id below
	// before (0: from the newest), newest first.
	Deliveries(ctx context.Context, f DeliveryFilter, before int64, limit int) ([]Delivery, error)
	// DeliveriesOf returns an outbox row's deliveries in id order.
	DeliveriesOf(ctx context.Context, notification int64) ([]Delivery, error)
	// RetryDelivery makes a failed delivery pending and due at now, its
	// attempts and provider fields reset, and audits it, in one
	// transaction: ENOTFOUND when it does not exist, ECONFLICT when it
	// is not failed.
	RetryDelivery(ctx context.Context, id int64, by Actor, now time.Time) (Delivery, error)
	// State reads notifier_state.
	State(ctx context.Context) (State, error)
	// ResumeBy ends a pause on an admin's word and audits it; it reports
	// whether one was ended.
	ResumeBy(ctx context.Context, by Actor, now time.Time) (bool, error)
	// DeliveryCounts counts deliveries per status.
	DeliveryCounts(ctx context.Context) (Counts, error)
	// ApplyStatus applies one webhook status; it reports whether a
	// delivery changed.
	ApplyStatus(ctx context.Context, u StatusUpdate, now time.Time) (bool, error)
}

// Admin answers the admin pages of notifications and Meta's status
// webhooks.
type Admin struct {
	store AdminStore
	now   func() time.Time
	// Enabled is RESAYIL_NOTIFICATIONS: whether this portal sends at all.
	enabled bool
}

// NewAdmin returns the admin service.
func NewAdmin(store AdminStore, now func() time.Time, enabled bool) *Admin {
	if now == nil {
		now = time.Now
	}
	return &Admin{store: store, now: now, enabled: enabled}
}

// Notifications lists the outbox.
func (a *Admin) Notifications(ctx context.Context, q ListQuery) (NotificationPage, error) {
	f := NotificationFilter{Event: q.Event, Status: q.Status}
	var fields []resayil.FieldError
	if fe := eventProblem(q.Event); fe != nil {
		fields = append(fields, *fe)
	}
	if f.Status != "" && !slices.Contains(NotificationStatuses, f.Status) {
		fields = append(fields, oneOf("status", NotificationStatuses))
	}
	phone, before, limit, more := parseCommon(q)
	f.Phone = phone
	if fields = append(fields, more...); len(fields) > 0 {
		return NotificationPage{}, resayil.Invalid(fields...)
	}
	rows, err := a.store.Notifications(ctx, f, before, limit+1)
	if err != nil {
		return NotificationPage{}, err
	}
	var p NotificationPage
	if len(rows) > limit {
		rows = rows[:limit]
		p.Next = rows[limit-1].ID
	}
	p.Notifications = rows
	return p, nil
}

// Notification returns one outbox row with its deliveries.
func (a *Admin) Notification(ctx context.Context, id int64) (Notification, []Delivery, error) {
	n, err := a.store.Notification(ctx, id)
	if err != nil {
		return Notification{}, nil, err
	}
	ds, err := a.store.DeliveriesOf(ctx, id)
	return n, ds, err
}

// Deliveries lists deliveries.
func (a *Admin) Deliveries(ctx context.Context, q ListQuery) (DeliveryPage, error) {
	f := DeliveryFilter{Status: DeliveryStatus(q.Status), Event: q.Event}
	var fields []resayil.FieldError
	if fe := eventProblem(q.Event); fe != nil {
		fields = append(fields, *fe)
	}
	if f.Status != "" && !slices.Contains(DeliveryStatuses, f.Status) {
		names := make([]string, len(DeliveryStatuses))
		for i, s := range DeliveryStatuses {
			names[i] = string(s)
		}
		fields = append(fields, oneOf("status", names))
	}
	phone, before, limit, more := parseCommon(q)
	f.Phone = phone
	if fields = append(fields, more...); len(fields) > 0 {
		return DeliveryPage{}, resayil.Invalid(fields...)
	}
	rows, err := a.store.Deliveries(ctx, f, before, limit+1)
	if err != nil {
		return DeliveryPage{}, err
	}
	var p DeliveryPage
	if len(rows) > limit {
		rows = rows[:limit]
		p.Next = rows[limit-1].ID
	}
	p.Deliveries = rows
	return p, nil
}

// Retry makes a failed delivery pending again with its attempts reset.
func (a *Admin) Retry(ctx context.Context, id int64, by Actor) (Delivery, error) {
	return a.store.RetryDelivery(ctx, id, by, a.now())
}

// Status is the notifier's state for the admin page.
type Status struct {
	// Enabled is RESAYIL_NOTIFICATIONS.
	Enabled bool
	State
	Counts Counts
}

// Status reports whether sending is paused, why and since when, with the
// deliveries per status.
func (a *Admin) Status(ctx context.Context) (Status, error) {
	st, err := a.store.State(ctx)
	if err != nil {
		return Status{}, err
	}
	c, err := a.store.DeliveryCounts(ctx)
	if err != nil {
		return Status{}, err
	}
	return Status{Enabled: a.enabled, State: st, Counts: c}, nil
}

// Resume ends a pause now, without waiting for a probe. Deliveries then
// go out at the next pass; if the sender is still refused, the first one
// pauses sending again (and alerts again).
func (a *Admin) Resume(ctx context.Context, by Actor) (Status, error) {
	if _, err := a.store.ResumeBy(ctx, by, a.now()); err != nil {
		return Status{}, err
	}
	return a.Status(ctx)
}

// Statuses applies the statuses of one webhook and reports how many
// changed a delivery. Statuses of unknown message ids change nothing.
func (a *Admin) Statuses(ctx context.Context, statuses []whatsapp.Status) (int, error) {
	n := 0
	now := a.now()
	for _, s := range statuses {
		u, ok := update(s)
		if !ok {
			continue
		}
		changed, err := a.store.ApplyStatus(ctx, u, now)
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// providerStatuses are the statuses Meta reports, in rank order.
var providerStatuses = []string{"sent", "delivered", "read", "failed"}

// update turns a webhook status into a StatusUpdate; unknown statuses
// and statuses without a message id are not applied.
func update(s whatsapp.Status) (StatusUpdate, bool) {
	r := whatsapp.Rank(s.Status)
	if r == 0 || s.MessageID == "" {
		return StatusUpdate{}, false
	}
	u := StatusUpdate{MessageID: s.MessageID, Status: s.Status, Below: []string{""}, At: s.Timestamp}
	for _, st := range providerStatuses {
		if whatsapp.Rank(st) < r {
			u.Below = append(u.Below, st)
		}
	}
	if s.Status == "failed" {
		var parts []string
		for _, e := range s.Errors {
			parts = append(parts, strings.TrimSpace(fmt.Sprintf("(#%d) %s %s %s", e.Code, e.Title, e.Message, e.Details)))
		}
		u.LastError = "webhook: failed"
		if len(parts) > 0 {
			u.LastError += ": " + strings.Join(parts, "; ")
		}
	}
	return u, true
}

// parseCommon reads the phone, cursor and limit shared by the listings.
func parseCommon(q ListQuery) (phone string, before int64, limit int, fields []resayil.FieldError) {
	if q.Phone != "" {
		p, ok := NormalizePhone(q.Phone)
		if !ok {
			fields = append(fields, resayil.FieldError{Field: "phone", Message: "Must be a phone number in international format, such as +96512345678."})
		}
		phone = p
	}
	if q.Cursor != "" {
		n, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || n <= 0 {
			fields = append(fields, resayil.FieldError{Field: "cursor", Message: "Must be a next_cursor from a previous page."})
		}
		before = n
	}
	limit = DefaultPage
	if q.Limit != "" {
		n, err := strconv.Atoi(q.Limit)
		if err != nil || n < 1 || n > MaxPage {
			fields = append(fields, resayil.FieldError{Field: "limit", Message: fmt.Sprintf("Must be a whole number from 1 to %d.", MaxPage)})
		}
		limit = n
	}
	return phone, before, limit, fields
}

func eventProblem(e string) *resayil.FieldError {
	if len(e) > 64 {
		return &resayil.FieldError{Field: "event", Message: "Must be at most 64 characters."}
	}
	return nil
}

func oneOf(field string, values []string) resayil.FieldError {
	return resayil.FieldError{Field: field, Message: "Must be one of: " + strings.Join(values, ", ") + "."}
}
