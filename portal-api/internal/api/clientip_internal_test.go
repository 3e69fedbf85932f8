package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"
)

func TestClientIP(t *testing.T) {
	// app.Test's peer is 0.0.0.0.
	cases := []struct {
		name, trusted, xff, want string
	}{
		{"noProxyIgnoresHeader", "", "203.0.113.9", "0.0.0.0"},
		{"trustedPeerUsesHeader", "0.0.0.0/32", "203.0.113.9", "203.0.113.9"},
		{"rightmostUntrusted", "0.0.0.0/32,10.0.0.0/8", "198.51.100.1, 203.0.113.9, 10.1.2.3", "203.0.113.9"},
		{"spoofedLeftIgnored", "0.0.0.0/32", "1.1.1.1, 203.0.113.9", "203.0.113.9"},
		{"allTrustedFallsBackToPeer", "0.0.0.0/32,10.0.0.0/8", "10.1.2.3", "0.0.0.0"},
		{"garbageStops", "0.0.0.0/32", "nonsense", "0.0.0.0"},
		{"noHeader", "0.0.0.0/32", "", "0.0.0.0"},
		{"ipv6", "0.0.0.0/32", "2001:db8::1", "2001:db8::1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r ipResolver
			if tc.trusted != "" {
				for _, p := range splitComma(tc.trusted) {
					r.trusted = append(r.trusted, netip.MustParsePrefix(p))
				}
			}
			app := fiber.New()
			var got string
			app.Get("/", func(c *fiber.Ctx) error { got = r.clientIP(c); return nil })
			req := httptest.NewRequest("GET", "/", nil)
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			if _, err := app.Test(req, -1); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("clientIP = %q, want %q", got, tc.want)
			}
		})
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
