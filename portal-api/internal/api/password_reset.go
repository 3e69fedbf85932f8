package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/portal-api/internal/account"
)

// The password-reset routes validate in the service (account.ResetService),
// which checks every field at once, the "exactly one of email and phone"
// rule too; bind adds only the JSON reading and the text check every
// string field gets.

type passwordResetRequest struct {
	Email *string `json:"email"`
	Phone *string `json:"phone"`
}

func (r *passwordResetRequest) normalize() { r.Email, r.Phone = trimmed(r.Email), trimmed(r.Phone) }

type passwordResetConfirmRequest struct {
	Email       *string `json:"email"`
	Phone       *string `json:"phone"`
	Code        string  `json:"code"`
	NewPassword string  `json:"new_password"`
}

func (r *passwordResetConfirmRequest) normalize() {
	r.Email, r.Phone = trimmed(r.Email), trimmed(r.Phone)
}

func trimmed(s *string) *string {
	if s == nil {
		return nil
	}
	t := strings.TrimSpace(*s)
	return &t
}

// passwordResetAccepted is the one answer to every well-formed request
// that is not throttled, whether or not an account matched.
type passwordResetAccepted struct {
	Message string `json:"message"`
}

var resetAccepted = passwordResetAccepted{
	Message: "If the e-mail address or phone number belongs to an account, a 6-digit code was sent to its WhatsApp number. It is valid for 10 minutes.",
}

func (h *handlers) requestPasswordReset(c *fiber.Ctx) error {
	var req passwordResetRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	err := h.resets.Request(c.UserContext(), account.ResetRequest{
		ResetIdentity: account.ResetIdentity{Email: req.Email, Phone: req.Phone},
		IP:            h.ips.clientIP(c),
	})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusAccepted).JSON(resetAccepted)
}

func (h *handlers) confirmPasswordReset(c *fiber.Ctx) error {
	var req passwordResetConfirmRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	err := h.resets.Confirm(c.UserContext(), account.ResetConfirmation{
		ResetIdentity: account.ResetIdentity{Email: req.Email, Phone: req.Phone},
		Code:          req.Code, NewPassword: req.NewPassword,
		IP: h.ips.clientIP(c),
	})
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
