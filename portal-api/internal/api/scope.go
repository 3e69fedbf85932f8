package api

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/resayil"
)

// errAccountForbidden answers an account_id the caller may not act for.
var errAccountForbidden = resayil.Errorf(resayil.EFORBIDDEN, "You may not view or change this account.")

// scopedHandler is a route handler that acts for one account, which
// scoped has already checked the caller may act for.
type scopedHandler func(h *handlers, c *fiber.Ctx, account resayil.AccountID) error

// scoped is the one check of every route that acts for an account (API
// keys, billing, usage): the optional ?account_id names the account, by
// default the caller's personal one. Today only the personal account is
// allowed; any other is 403, whether it exists or not. The handler gets
// the account as an argument, so it cannot read another by mistake.
func scoped(fn scopedHandler) func(h *handlers, c *fiber.Ctx) error {
	return func(h *handlers, c *fiber.Ctx) error {
		account, err := accountScope(c)
		if err != nil {
			return err
		}
		return fn(h, c, account)
	}
}

// accountScope resolves and checks ?account_id for the caller.
func accountScope(c *fiber.Ctx) (resayil.AccountID, error) {
	personal := caller(c).User.AccountID
	v := c.Query("account_id")
	if v == "" {
		return personal, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, resayil.Invalid(resayil.FieldError{Field: "account_id", Message: "Must be an account id."})
	}
	if resayil.AccountID(id) != personal {
		return 0, errAccountForbidden
	}
	return personal, nil
}
