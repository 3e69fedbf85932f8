package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/portal-api/internal/account"
)

func (h *handlers) getMe(c *fiber.Ctx) error {
	return c.JSON(userResponse{User: toUserDTO(h.accounts.Me(caller(c)))})
}

func (h *handlers) updateMe(c *fiber.Ctx) error {
	var req updateMeRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	u, err := h.accounts.UpdateProfile(c.UserContext(), caller(c), toProfileUpdate(req))
	if err != nil {
		return err
	}
	return c.JSON(userResponse{User: toUserDTO(u)})
}

func (h *handlers) changePassword(c *fiber.Ctx) error {
	var req changePasswordRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	err := h.accounts.ChangePassword(c.UserContext(), caller(c), account.PasswordChange{
		Current: req.CurrentPassword, New: req.NewPassword, IP: h.ips.clientIP(c),
	})
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
