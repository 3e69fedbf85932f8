package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/ipban"
)

// internalToken checks the bearer token of the internal routes
// (RESAYIL_INTERNAL_TOKEN): the host's tools (fail2ban) call them, never
// a browser. The zero value refuses everything.
type internalToken struct {
	// sum is the SHA-256 of the token: comparing digests of a fixed length
	// in constant time says nothing about the token's length or content.
	sum [sha256.Size]byte
	set bool
}

func newInternalToken(token string) internalToken {
	if token == "" {
		return internalToken{}
	}
	return internalToken{sum: sha256.Sum256([]byte(token)), set: true}
}

func (t internalToken) matches(presented string) bool {
	got := sha256.Sum256([]byte(presented))
	return t.set && subtle.ConstantTimeCompare(got[:], t.sum[:]) == 1
}

var (
	errInternalOff = resayil.Errorf(resayil.EFORBIDDEN, "The internal API is off: set RESAYIL_INTERNAL_TOKEN to use it.")
	errInternalKey = resayil.Errorf(resayil.EUNAUTHORIZED, "Send RESAYIL_INTERNAL_TOKEN as Authorization: Bearer <token>.")
)

// internalOnly admits requests that carry the internal token. A wrong
// token is an auth failure (authlog.KindInternalToken), so that fail2ban
// bans whoever guesses it.
func internalOnly(fn func(h *handlers, c *fiber.Ctx) error) func(h *handlers, c *fiber.Ctx) error {
	return func(h *handlers, c *fiber.Ctx) error {
		if !h.internal.set {
			return errInternalOff
		}
		token, ok := bearer(c)
		if !ok || !h.internal.matches(token) {
			if ok {
				h.authFailures.Failure(authlog.KindInternalToken, h.ips.clientIP(c), c.Path())
			}
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="resayil-internal"`)
			return errInternalKey
		}
		return fn(h, c)
	}
}

type ipBannedRequest struct {
	IP   string `json:"ip" validate:"required"`
	Jail string `json:"jail" validate:"required"`
}

type ipBannedResponse struct {
	IP        string    `json:"ip"`
	Jail      string    `json:"jail"`
	Alerted   bool      `json:"alerted"`
	AlertedAt time.Time `json:"alerted_at"`
}

// ipBanned records a fail2ban ban as an admin alert, at most one per
// address per hour (ipban).
func (h *handlers) ipBanned(c *fiber.Ctx) error {
	var req ipBannedRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	b, err := ipban.ParseBan(req.IP, req.Jail)
	if err != nil {
		return err
	}
	out, err := h.ipBans.Record(c.UserContext(), b)
	if err != nil {
		return err
	}
	if out.Alerted {
		h.log.Warn("address banned by fail2ban: admins alerted", "ip", b.IP.String(), "jail", b.Jail)
	} else {
		h.log.Info("address banned by fail2ban again: alerted within the hour", "ip", b.IP.String(), "jail", b.Jail, "alerted_at", out.AlertedAt)
	}
	return c.JSON(ipBannedResponse{IP: b.IP.String(), Jail: b.Jail, Alerted: out.Alerted, AlertedAt: out.AlertedAt.UTC()})
}
