package api

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/portal-api/internal/admin"
)

type auditEntryDTO struct {
	ID          int64           `json:"id"`
	ActorUserID *int64          `json:"actor_user_id"`
	Actor       string          `json:"actor"`
	Action      string          `json:"action"`
	TargetType  string          `json:"target_type"`
	TargetID    string          `json:"target_id"`
	Details     json.RawMessage `json:"details"`
	IP          string          `json:"ip"`
	CreatedAt   time.Time       `json:"created_at"`
}

type auditPageDTO struct {
	Data       []auditEntryDTO `json:"data"`
	NextCursor *string         `json:"next_cursor"`
}

func (h *handlers) listAuditLog(c *fiber.Ctx) error {
	page, err := h.actions.AuditLog(c.UserContext(), admin.AuditParams{
		Actor: c.Query("actor"), Action: c.Query("action"), TargetType: c.Query("target_type"), TargetID: c.Query("target_id"),
		From: c.Query("from"), To: c.Query("to"), Cursor: c.Query("cursor"), Limit: c.Query("limit"),
	})
	if err != nil {
		return err
	}
	out := auditPageDTO{Data: make([]auditEntryDTO, len(page.Items))}
	for i, e := range page.Items {
		out.Data[i] = auditEntryDTO{ID: e.ID, ActorUserID: e.ActorUserID, Actor: e.Actor, Action: e.Action,
			TargetType: e.TargetType, TargetID: e.TargetID, Details: e.Details, IP: e.IP, CreatedAt: e.CreatedAt}
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	return c.JSON(out)
}
