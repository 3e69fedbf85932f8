// Package clientip finds the address of the client behind a request, the
// one both services throttle, log and have fail2ban ban by.
//
// Behind a reverse proxy every peer is the proxy, so trusting no proxy
// would treat all clients as one; trusting X-Forwarded-For from anyone
// would let a client pick a fresh address per attempt. So the header is
// read only when the peer is a configured proxy (RESAYIL_TRUSTED_PROXIES),
// right to left, skipping the configured proxies: the first address that
// is not one of them is the client.
package clientip

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// ParseTrusted parses a comma-separated list of IP addresses and CIDRs
// (RESAYIL_TRUSTED_PROXIES); blanks are skipped. The error names the bad
// item, for the caller to attach to its variable.
func ParseTrusted(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("must be a comma-separated list of IP addresses or CIDRs, got %q", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Resolver finds client addresses; the zero value trusts no proxy.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a Resolver that trusts the given proxies.
func New(trusted []netip.Prefix) Resolver { return Resolver{trusted: trusted} }

func (r Resolver) isTrusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolve returns the client's address given the peer's and the request's
// X-Forwarded-For header.
func (r Resolver) Resolve(peer netip.Addr, forwardedFor string) netip.Addr {
	peer = peer.Unmap()
	if !r.isTrusted(peer) || forwardedFor == "" {
		return peer
	}
	hops := strings.Split(forwardedFor, ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if a = a.Unmap(); !r.isTrusted(a) {
			return a
		}
	}
	return peer
}

// Of returns the address of the client of c, as a string ("" when the
// connection has no IP peer).
func (r Resolver) Of(c *fiber.Ctx) string {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return ""
	}
	return r.Resolve(peer, c.Get(fiber.HeaderXForwardedFor)).String()
}
