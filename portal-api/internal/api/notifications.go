package api

import (
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/notify"
)

// NotificationDeps serve the notifications admin routes and Meta's
// WhatsApp webhook.
type NotificationDeps struct {
	// Admin answers the admin routes and applies webhook statuses.
	Admin *notify.Admin
	// AppSecret verifies X-Hub-Signature-256 (RESAYIL_WHATSAPP_APP_SECRET);
	// empty refuses every webhook POST.
	AppSecret string
	// VerifyToken answers Meta's subscription handshake
	// (RESAYIL_WHATSAPP_VERIFY_TOKEN); empty refuses it.
	VerifyToken string
}

// listQuery reads a listing's query; strings are copied, as fasthttp
// reuses the query's buffer.
func listQuery(c *fiber.Ctx) notify.ListQuery {
	return notify.ListQuery{
		Event: strings.Clone(c.Query("event")), Status: strings.Clone(c.Query("status")), Phone: strings.Clone(c.Query("phone")),
		Cursor: strings.Clone(c.Query("cursor")), Limit: strings.Clone(c.Query("limit")),
	}
}

func (h *handlers) listNotifications(c *fiber.Ctx) error {
	a := h.notifications.Admin
	p, err := a.Notifications(c.UserContext(), listQuery(c))
	if err != nil {
		return err
	}
	out := notificationPage{Data: make([]notificationDTO, len(p.Notifications))}
	for i, n := range p.Notifications {
		out.Data[i] = toNotificationDTO(n)
	}
	out.NextCursor = cursorOf(p.Next)
	return c.JSON(out)
}

var errNotificationNotFound = resayil.Errorf(resayil.ENOTFOUND, "The notification does not exist.")

func (h *handlers) getNotification(c *fiber.Ctx) error {
	a := h.notifications.Admin
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return errNotificationNotFound
	}
	n, ds, err := a.Notification(c.UserContext(), id)
	if err != nil {
		return err
	}
	out := notificationDetailDTO{notificationDTO: toNotificationDTO(n), Deliveries: make([]deliveryDTO, len(ds))}
	for i, d := range ds {
		out.Deliveries[i] = toDeliveryDTO(d)
	}
	return c.JSON(out)
}

func (h *handlers) listDeliveries(c *fiber.Ctx) error {
	a := h.notifications.Admin
	p, err := a.Deliveries(c.UserContext(), listQuery(c))
	if err != nil {
		return err
	}
	out := deliveryPage{Data: make([]deliveryDTO, len(p.Deliveries))}
	for i, d := range p.Deliveries {
		out.Data[i] = toDeliveryDTO(d)
	}
	out.NextCursor = cursorOf(p.Next)
	return c.JSON(out)
}

var errDeliveryNotFound = resayil.Errorf(resayil.ENOTFOUND, "The notification delivery does not exist.")

func (h *handlers) retryDelivery(c *fiber.Ctx) error {
	a := h.notifications.Admin
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return errDeliveryNotFound
	}
	d, err := a.Retry(c.UserContext(), id, h.actor(c))
	if err != nil {
		return err
	}
	return c.JSON(toDeliveryDTO(d))
}

func (h *handlers) getNotifier(c *fiber.Ctx) error {
	a := h.notifications.Admin
	st, err := a.Status(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(toNotifierDTO(st))
}

func (h *handlers) resumeNotifier(c *fiber.Ctx) error {
	a := h.notifications.Admin
	st, err := a.Resume(c.UserContext(), h.actor(c))
	if err != nil {
		return err
	}
	return c.JSON(toNotifierDTO(st))
}

func (h *handlers) actor(c *fiber.Ctx) notify.Actor {
	return notify.Actor{User: caller(c).User.ID, IP: h.ips.clientIP(c)}
}

func cursorOf(next int64) *string {
	if next == 0 {
		return nil
	}
	s := strconv.FormatInt(next, 10)
	return &s
}
