package authlog_test

import (
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/authlog"
)

var at = time.Date(2026, 12, 7, 19, 36, 28, 123456789, time.FixedZone("AST", 3*3600))

func TestLine_Format(t *testing.T) {
	cases := []struct {
		name, ip, subject, want string
		kind                    authlog.Kind
	}{
		{"login", "203.0.113.7", "fatima@example.com",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=login ip=203.0.113.7 subject=fatima@example.com\n", authlog.KindLogin},
		{"maskedKey", "2001:db8::1", "sk-ab****wxyz",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=api_key ip=2001:db8::1 subject=sk-ab****wxyz\n", authlog.KindAPIKey},
		{"noSubject", "198.51.100.2", "",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=refresh ip=198.51.100.2 subject=-\n", authlog.KindRefresh},
		{"userID", "198.51.100.2", "user:42",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=refresh ip=198.51.100.2 subject=user:42\n", authlog.KindRefresh},
		{"ipv4MappedIsIPv4", "::ffff:203.0.113.7", "a@b.c",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=reset_code ip=203.0.113.7 subject=a@b.c\n", authlog.KindResetCode},
		{"ipv6Canonical", "2001:0DB8:0000:0000:0000:0000:0000:0001", "x",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=login ip=2001:db8::1 subject=x\n", authlog.KindLogin},
		{"zoneDropped", "fe80::1%eth0", "x",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=login ip=fe80::1 subject=x\n", authlog.KindLogin},
		{"noAddress", "", "x",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=login ip=- subject=x\n", authlog.KindLogin},
		{"notAnAddress", "203.0.113.7 ip=1.2.3.4", "x",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=login ip=- subject=x\n", authlog.KindLogin},
		{"unknownKindEscaped", "203.0.113.7", "x",
			"2026-12-07T16:36:28.123Z resayil-auth-failure kind=bad%20kind ip=203.0.113.7 subject=x\n", authlog.Kind("bad kind")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := authlog.Line(at, tc.kind, tc.ip, tc.subject); got != tc.want {
				t.Errorf("Line:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// Whatever a client puts in what becomes the subject (an e-mail, the
// characters of a key), the line stays one line of four fields, with one
// ip= and the real address.
func TestLine_SubjectCannotInject(t *testing.T) {
	attempts := map[string]string{
		"newlineAndForgedLine": "x@example.com\n2026-12-07T16:36:29.000Z resayil-auth-failure kind=login ip=6.6.6.6 subject=y",
		"carriageReturn":       "x\r2026-12-07T16:36:29.000Z resayil-auth-failure kind=login ip=6.6.6.6 subject=y",
		"secondIPField":        "x ip=6.6.6.6",
		"equalsAndQuotes":      `"ip=6.6.6.6" 'ip=6.6.6.6'`,
		"tab":                  "x\tip=6.6.6.6",
		"nul":                  "x\x00ip=6.6.6.6",
		"percentItself":        "x%0Aip=6.6.6.6",
		"unicodeLineSeparator": "x\u2028ip=6.6.6.6\u0085",
		"invalidUTF8":          "x\xff\xfeip=6.6.6.6",
		"backslashes":          `x\nip=6.6.6.6`,
	}
	for name, subject := range attempts {
		t.Run(name, func(t *testing.T) {
			line := authlog.Line(at, authlog.KindLogin, "203.0.113.7", subject)
			body := strings.TrimSuffix(line, "\n")
			if strings.ContainsAny(body, "\n\r\t\x00\"'\\") || strings.Contains(body, "\u2028") || strings.Contains(body, "\u0085") {
				t.Fatalf("line keeps a control, quote or separator character: %q", line)
			}
			fields := strings.Split(body, " ")
			if len(fields) != 5 {
				t.Fatalf("want 5 space-separated fields, got %d: %q", len(fields), line)
			}
			if fields[3] != "ip=203.0.113.7" || strings.Count(body, "ip=") != 1 || strings.Count(body, "=") != 3 {
				t.Fatalf("the subject added a field: %q", line)
			}
			if !strings.HasPrefix(fields[4], "subject=") {
				t.Fatalf("last field %q", fields[4])
			}
		})
	}
}

func TestLine_SubjectTruncatedOnRuneBoundary(t *testing.T) {
	subject := strings.Repeat("a", authlog.MaxSubject-1) + "é" + strings.Repeat("b", 50)
	line := authlog.Line(at, authlog.KindLogin, "203.0.113.7", subject)
	_, value, _ := strings.Cut(strings.TrimSpace(line), "subject=")
	if want := strings.Repeat("a", authlog.MaxSubject-1); value != want {
		t.Errorf("subject = %q, want the %d bytes before the cut rune", value, len(want))
	}
}

// Every Kind constant is listed in Kinds, and each is written as it is.
func TestKinds(t *testing.T) {
	want := []string{"api_key", "login", "refresh", "reset_code", "internal_token"}
	if len(authlog.Kinds) != len(want) {
		t.Fatalf("Kinds = %v", authlog.Kinds)
	}
	for i, k := range authlog.Kinds {
		if string(k) != want[i] {
			t.Errorf("Kinds[%d] = %q, want %q", i, k, want[i])
		}
		if !strings.Contains(authlog.Line(at, k, "192.0.2.1", "x"), " kind="+want[i]+" ") {
			t.Errorf("kind %q not written as it is", k)
		}
	}
}
