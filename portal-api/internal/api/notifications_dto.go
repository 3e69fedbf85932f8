package api

import (
	"time"

	"github.com/resayil/portal/portal-api/internal/notify"
)

type notificationPayloadDTO struct {
	Params   []string       `json:"params"`
	ParamsAR []string       `json:"params_ar"`
	Data     map[string]any `json:"data"`
}

type notificationDTO struct {
	ID        int64   `json:"id"`
	Event     string  `json:"event"`
	Audience  string  `json:"audience"`
	AccountID *int64  `json:"account_id"`
	UserID    *int64  `json:"user_id"`
	Locale    string  `json:"locale"`
	Status    string  `json:"status"`
	Reason    *string `json:"reason"`
	DedupeKey string  `json:"dedupe_key"`
	// Payload is null when the row's JSON cannot be read.
	Payload   *notificationPayloadDTO `json:"payload"`
	CreatedAt time.Time               `json:"created_at"`
	UpdatedAt time.Time               `json:"updated_at"`
}

// redacted replaces a one-time code: admins see that a code was sent,
// never the code.
const redacted = "[redacted]"

func toNotificationDTO(n notify.Notification) notificationDTO {
	out := notificationDTO{ID: n.ID, Event: n.Event, Audience: n.Audience, Locale: string(n.Locale), Status: n.Status,
		Reason: optional(n.LastError), DedupeKey: n.DedupeKey, CreatedAt: n.CreatedAt, UpdatedAt: n.UpdatedAt}
	if n.Account != 0 {
		v := int64(n.Account)
		out.AccountID = &v
	}
	if n.User != 0 {
		v := int64(n.User)
		out.UserID = &v
	}
	if p, err := notify.ParsePayload(n.Payload); err == nil {
		dto := &notificationPayloadDTO{Params: p.Params, ParamsAR: p.ParamsAR, Data: p.Data}
		if n.Event == notify.EventPasswordResetCode {
			dto = &notificationPayloadDTO{Params: make([]string, len(p.Params))}
			for i := range dto.Params {
				dto.Params[i] = redacted
			}
		}
		if dto.Params == nil {
			dto.Params = []string{}
		}
		out.Payload = dto
	}
	return out
}

type notificationPage struct {
	Data       []notificationDTO `json:"data"`
	NextCursor *string           `json:"next_cursor"`
}

type notificationDetailDTO struct {
	notificationDTO
	Deliveries []deliveryDTO `json:"deliveries"`
}

type deliveryDTO struct {
	ID                int64      `json:"id"`
	NotificationID    int64      `json:"notification_id"`
	Event             string     `json:"event"`
	UserID            *int64     `json:"user_id"`
	Phone             string     `json:"phone"`
	Status            string     `json:"status"`
	Attempts          int        `json:"attempts"`
	NextAttemptAt     time.Time  `json:"next_attempt_at"`
	LeaseUntil        *time.Time `json:"lease_until"`
	ProviderMessageID *string    `json:"provider_message_id"`
	ProviderStatus    *string    `json:"provider_status"`
	ProviderStatusAt  *time.Time `json:"provider_status_at"`
	LastError         *string    `json:"last_error"`
	CreatedAt         time.Time  `json:"created_at"`
	SentAt            *time.Time `json:"sent_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

func toDeliveryDTO(d notify.Delivery) deliveryDTO {
	out := deliveryDTO{ID: d.ID, NotificationID: d.NotificationID, Event: d.Event, Phone: d.Phone, Status: string(d.Status), Attempts: d.Attempts,
		NextAttemptAt: d.NextAttemptAt, LeaseUntil: d.LeaseUntil, ProviderMessageID: optional(d.ProviderMessageID),
		ProviderStatus: optional(d.ProviderStatus), ProviderStatusAt: d.ProviderStatusAt, LastError: optional(d.LastError),
		CreatedAt: d.CreatedAt, SentAt: d.SentAt, UpdatedAt: d.UpdatedAt}
	if d.User != 0 {
		v := int64(d.User)
		out.UserID = &v
	}
	return out
}

type deliveryPage struct {
	Data       []deliveryDTO `json:"data"`
	NextCursor *string       `json:"next_cursor"`
}

type deliveryCountsDTO struct {
	Pending int64 `json:"pending"`
	Sending int64 `json:"sending"`
	Sent    int64 `json:"sent"`
	Failed  int64 `json:"failed"`
}

type notifierDTO struct {
	Enabled    bool              `json:"enabled"`
	Paused     bool              `json:"paused"`
	Reason     *string           `json:"reason"`
	PausedAt   *time.Time        `json:"paused_at"`
	Deliveries deliveryCountsDTO `json:"deliveries"`
}

func toNotifierDTO(s notify.Status) notifierDTO {
	out := notifierDTO{Enabled: s.Enabled, Paused: s.Paused(), Reason: optional(s.Reason), PausedAt: s.PausedAt,
		Deliveries: deliveryCountsDTO{Pending: s.Counts[notify.Pending], Sending: s.Counts[notify.Sending], Sent: s.Counts[notify.Sent], Failed: s.Counts[notify.Failed]}}
	return out
}

// optional is nil for "", for JSON null.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type webhookStatusAck struct {
	Status string `json:"status"`
	// Applied counts the statuses that changed a delivery.
	Applied int `json:"applied"`
}
