package api

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// ipResolver finds the client's address for login and registration
// throttling. Behind a reverse proxy every peer is the proxy, so trusting no
// proxy would throttle all users as one; trusting X-Forwarded-For from anyone
// would let a client pick a fresh address per guess. So the header is read
// only when the peer is a configured proxy, right to left, skipping the
// configured proxies.
type ipResolver struct {
	trusted []netip.Prefix
}

func (r ipResolver) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func (r ipResolver) clientIP(c *fiber.Ctx) string {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return ""
	}
	peer = peer.Unmap()
	if !r.isTrusted(peer) {
		return peer.String()
	}
	hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if a = a.Unmap(); !r.isTrusted(a) {
			return a.String()
		}
	}
	return peer.String()
}
