package api

import (
	"net/netip"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/clientip"
)

// ipResolver finds the client's address for throttling and the
// auth-failure log, the way the gateway does (pkg/clientip): the peer, or
// with a trusted proxy as the peer, X-Forwarded-For read right to left.
type ipResolver struct {
	trusted []netip.Prefix
}

func (r ipResolver) clientIP(c *fiber.Ctx) string {
	return clientip.New(r.trusted).Of(c)
}
