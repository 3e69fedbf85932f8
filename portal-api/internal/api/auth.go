package api

import (
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
)

const localsCaller = "caller"

var errNoToken = resayil.Errorf(resayil.EUNAUTHORIZED, "Authentication is required: send an access token as Authorization: Bearer <token>.")

// authenticate admits requests whose access token is valid and whose
// session is live, and keeps the caller for the handler.
func (h *handlers) authenticate(c *fiber.Ctx) error {
	token, ok := bearer(c)
	if !ok {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="resayil"`)
		return errNoToken
	}
	caller, err := h.accounts.Authenticate(c.UserContext(), token)
	if err != nil {
		if resayil.ErrorCode(err) == resayil.EUNAUTHORIZED {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="resayil", error="invalid_token"`)
		}
		return err
	}
	c.Locals(localsCaller, caller)
	return c.Next()
}

// caller returns the user authenticate admitted.
func caller(c *fiber.Ctx) account.Caller {
	return c.Locals(localsCaller).(account.Caller)
}

// bearer returns the token of an `Authorization: Bearer` header.
func bearer(c *fiber.Ctx) (string, bool) {
	scheme, token, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return strings.Clone(token), true
}

func (h *handlers) register(c *fiber.Ctx) error {
	var req registerRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	u, err := h.accounts.Register(c.UserContext(), toRegistration(req, h.ips.clientIP(c)))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(userResponse{User: toUserDTO(u)})
}

func (h *handlers) login(c *fiber.Ctx) error {
	var req loginRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	g, err := h.accounts.Login(c.UserContext(), account.Credentials{
		Email: req.Email, Password: req.Password, RememberMe: req.RememberMe,
		IP: h.ips.clientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent),
	})
	if err != nil {
		return err
	}
	return h.grant(c, g)
}

func (h *handlers) refresh(c *fiber.Ctx) error {
	g, err := h.accounts.Refresh(c.UserContext(), c.Cookies(refreshCookie), h.ips.clientIP(c))
	if err != nil {
		if resayil.ErrorCode(err) == resayil.EUNAUTHORIZED {
			h.clearRefreshCookie(c)
		}
		return err
	}
	return h.grant(c, g)
}

// grant answers a login or refresh: the access token in the body, the
// refresh token in its cookie (securityHeaders makes it no-store). A
// refresh within the grace window rotated nothing: the cookie the browser
// holds (set by the tab that rotated) is left as it is.
func (h *handlers) grant(c *fiber.Ctx, g account.Grant) error {
	if g.Refresh != "" {
		h.setRefreshCookie(c, g)
	}
	return c.JSON(toTokenResponse(g))
}

func (h *handlers) logout(c *fiber.Ctx) error {
	token, _ := bearer(c)
	if err := h.accounts.Logout(c.UserContext(), token, c.Cookies(refreshCookie)); err != nil {
		return err
	}
	h.clearRefreshCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}

func (h *handlers) logoutAll(c *fiber.Ctx) error {
	if _, err := h.accounts.LogoutAll(c.UserContext(), caller(c)); err != nil {
		return err
	}
	h.clearRefreshCookie(c)
	return c.SendStatus(fiber.StatusNoContent)
}
