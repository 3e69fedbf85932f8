package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/apikey"
)

func (h *handlers) createKey(c *fiber.Ctx, account resayil.AccountID) error {
	var req createKeyRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	u := caller(c).User
	k, err := h.keys.Create(c.UserContext(), apikey.Owner{UserID: u.ID, AccountID: account}, req.Name)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(toCreatedKeyDTO(k))
}

// listKeys lists the caller's keys; with only the personal account in
// scope, they are the account's.
func (h *handlers) listKeys(c *fiber.Ctx, _ resayil.AccountID) error {
	keys, err := h.keys.List(c.UserContext(), caller(c).User.ID)
	if err != nil {
		return err
	}
	return c.JSON(toKeyListResponse(keys))
}

func (h *handlers) revokeKey(c *fiber.Ctx, _ resayil.AccountID) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return apikey.ErrNotFound
	}
	if _, err := h.keys.Revoke(c.UserContext(), caller(c).User.ID, resayil.APIKeyID(id)); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
