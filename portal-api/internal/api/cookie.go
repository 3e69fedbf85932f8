package api

import (
	"net/http"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/portal-api/internal/account"
)

const (
	// refreshCookie holds the refresh token. Its path limits it to the auth
	// routes, so it is not sent with every API call.
	refreshCookie     = "resayil_refresh"
	refreshCookiePath = "/api/v1/auth"
)

// setRefreshCookie stores the refresh token in an HttpOnly, SameSite=Strict
// cookie. A remember-me session gets a persistent cookie that ends with the
// session; otherwise the cookie ends with the browser (and the server caps
// the session at account.BrowserSessionTTL anyway).
func (h *handlers) setRefreshCookie(c *fiber.Ctx, g account.Grant) {
	ck := h.cookie(g.Refresh)
	if g.Session.RememberMe {
		ck.Expires = g.Session.ExpiresAt
		ck.MaxAge = int(g.Session.ExpiresAt.Sub(g.At) / time.Second)
	}
	writeCookie(c, ck)
}

// clearRefreshCookie tells the browser to drop the refresh cookie.
func (h *handlers) clearRefreshCookie(c *fiber.Ctx) {
	ck := h.cookie("")
	ck.MaxAge, ck.Expires = -1, time.Unix(0, 0)
	writeCookie(c, ck)
}

func (h *handlers) cookie(value string) *http.Cookie {
	return &http.Cookie{
		Name: refreshCookie, Value: value, Path: refreshCookiePath,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteStrictMode,
	}
}

// writeCookie sets the cookie with net/http's formatting, which writes
// both Max-Age and Expires for a persistent cookie (fasthttp writes only
// one), so old browsers keep it too.
func writeCookie(c *fiber.Ctx, ck *http.Cookie) {
	c.Response().Header.Add(fiber.HeaderSetCookie, ck.String())
}
