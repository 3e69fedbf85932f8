package api

import (
	"crypto/subtle"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/whatsapp"
)

var (
	errWebhookHandshake = resayil.Errorf(resayil.EFORBIDDEN, "The verify token does not match.")
	errWebhookSignature = resayil.Errorf(resayil.EUNAUTHORIZED, "The X-Hub-Signature-256 header is missing or wrong.")
	errWebhookBody      = resayil.Errorf(resayil.EINVALID, "The body is not a WhatsApp webhook.")
)

// whatsappHandshake answers Meta's subscription check: mode subscribe
// with our verify token gets the challenge back, as it was sent, as
// text; anything else is 403. No verify token configured refuses all.
func (h *handlers) whatsappHandshake(c *fiber.Ctx) error {
	token := h.notifications.VerifyToken
	if token == "" || c.Query("hub.mode") != "subscribe" ||
		subtle.ConstantTimeCompare([]byte(c.Query("hub.verify_token")), []byte(token)) != 1 {
		return errWebhookHandshake
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.SendString(c.Query("hub.challenge"))
}

// whatsappWebhook receives Meta's status webhooks. The signature is
// checked over the raw body before anything is read: missing or wrong
// (or no app secret configured) is 401 and records nothing. Each status
// moves its delivery forward only (out-of-order and repeated webhooks
// change nothing); statuses of unknown messages and other events
// (inbound messages) are acknowledged and ignored. The body is taken as
// Meta sends it, whatever its Content-Type.
func (h *handlers) whatsappWebhook(c *fiber.Ctx) error {
	body := c.Body()
	secret := h.notifications.AppSecret
	if secret == "" || !whatsapp.VerifySignature(secret, c.Get("X-Hub-Signature-256"), body) {
		return errWebhookSignature
	}
	statuses, err := whatsapp.ParseStatuses(body)
	if err != nil {
		h.log.Warn("whatsapp webhook not understood", "request_id", httpserver.RequestID(c), "err", err)
		return errWebhookBody
	}
	applied, err := h.notifications.Admin.Statuses(c.UserContext(), statuses)
	if err != nil {
		return err // 500: Meta delivers it again, and applying is idempotent
	}
	return c.JSON(webhookStatusAck{Status: "ok", Applied: applied})
}
