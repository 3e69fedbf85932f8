package clientip_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/clientip"
)

func TestResolver_Of(t *testing.T) {
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
		{"injectionStops", "0.0.0.0/32", "203.0.113.9 ip=6.6.6.6", "0.0.0.0"},
		{"noHeader", "0.0.0.0/32", "", "0.0.0.0"},
		{"ipv6", "0.0.0.0/32", "2001:db8::1", "2001:db8::1"},
		{"ipv4Mapped", "0.0.0.0", "::ffff:203.0.113.9", "203.0.113.9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			trusted, err := clientip.ParseTrusted(tc.trusted)
			if err != nil {
				t.Fatal(err)
			}
			r := clientip.New(trusted)
			app := fiber.New()
			var got string
			app.Get("/", func(c *fiber.Ctx) error { got = r.Of(c); return nil })
			req := httptest.NewRequest("GET", "/", nil)
			if tc.xff != "" {
				req.Header.Set("X-Forwarded-For", tc.xff)
			}
			if _, err := app.Test(req, -1); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Of = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseTrusted(t *testing.T) {
	got, err := clientip.ParseTrusted(" 10.0.0.0/8, 192.168.1.7 ,, ::ffff:172.16.0.1, 2001:db8::/32 ,10.1.2.3/8")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32"), netip.MustParsePrefix("172.16.0.1/32"),
		netip.MustParsePrefix("2001:db8::/32"), netip.MustParsePrefix("10.0.0.0/8"),
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	if _, err := clientip.ParseTrusted("10.0.0.0/8,proxy.local"); err == nil {
		t.Fatal("a host name was accepted")
	}
}
