// Package authlog writes the auth-failure log: one line per failed
// authentication, in a fixed format that fail2ban reads
// (deploy/fail2ban/filter.d/resayil.conf) to ban addresses that keep
// failing. Both services write it, the gateway for refused API keys and
// portal-api for refused passwords, refresh tokens and reset codes, to the
// file RESAYIL_AUTH_FAILURE_LOG names (empty: no log).
//
// The line, the contract with the fail2ban filter:
//
//	2026-12-07T19:36:28.123Z resayil-auth-failure kind=login ip=203.0.113.7 subject=fatima@example.com
//
// Its fields, in this order:
//
//   - the time in UTC, RFC 3339 with milliseconds and "Z" (the filter's
//     datepattern), so fail2ban reads it alike whatever the host's zone;
//   - the fixed word Prefix;
//   - kind=, one of the Kind constants;
//   - ip=, the client address in canonical form (IPv4 dotted, IPv6
//     compressed, no zone; an IPv4-mapped IPv6 address as IPv4), or "-"
//     when there is no valid address (fail2ban matches no "-");
//   - subject=, who or what was tried (an e-mail, a masked key, user:ID),
//     at most MaxSubject bytes, "-" when empty.
//
// Fields are separated by one space and no value contains a space, a
// '=', a quote or a control character: every byte of the subject outside
// [A-Za-z0-9._@+*:-] is written as %XX. So nothing a client chose (an
// e-mail, the characters of a key) can end the line, start a second one,
// or add a field such as a second ip=.
package authlog

import (
	"net/netip"
	"strings"
	"time"
)

// Prefix is the fixed word after the time that marks an auth-failure line.
const Prefix = "resayil-auth-failure"

// MaxSubject bounds the subject's length in bytes before escaping.
const MaxSubject = 128

// Kind says what failed. The fail2ban jails count kinds separately: the
// gateway's jail api_key, the portal's jail the rest.
type Kind string

// The kinds of failure.
const (
	// KindAPIKey: the gateway refused an API key (malformed, unknown,
	// revoked, or its user or account disabled). Subject: the masked key.
	KindAPIKey Kind = "api_key"
	// KindLogin: a wrong password, or an e-mail no one has, at login.
	// Subject: the e-mail as normalised.
	KindLogin Kind = "login"
	// KindRefresh: a refresh token no session has, or one presented again
	// after its rotation (reuse ends the session). Subject: user:ID when
	// the token was known, else "-".
	KindRefresh Kind = "refresh"
	// KindResetCode: a refused password-reset code (wrong, expired, used
	// or out of tries, or for no account). Subject: why, as the reset
	// service names it (wrong_code, ended, no_code, unknown_account): the
	// identity tried is not told apart from an unknown one.
	KindResetCode Kind = "reset_code"
	// KindInternalToken: a wrong RESAYIL_INTERNAL_TOKEN at the internal
	// endpoints. Subject: the route.
	KindInternalToken Kind = "internal_token"
)

// Kinds lists every kind, in the order of the constants.
var Kinds = []Kind{KindAPIKey, KindLogin, KindRefresh, KindResetCode, KindInternalToken}

// timeLayout is the line's time: fixed width, UTC, milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// Line returns the line (with its newline) that records a failure of kind
// from clientIP at t. It is what Logger.Failure writes.
func Line(t time.Time, kind Kind, clientIP, subject string) string {
	var b strings.Builder
	b.Grow(len(timeLayout) + len(Prefix) + 64 + len(subject))
	b.WriteString(t.UTC().Format(timeLayout))
	b.WriteByte(' ')
	b.WriteString(Prefix)
	b.WriteString(" kind=")
	writeValue(&b, string(kind))
	b.WriteString(" ip=")
	b.WriteString(canonicalIP(clientIP))
	b.WriteString(" subject=")
	writeValue(&b, truncate(subject, MaxSubject))
	b.WriteByte('\n')
	return b.String()
}

// canonicalIP is the address in the one form fail2ban and the alert share,
// or "-". The services pass what their client-address resolver returned;
// parsing again here keeps the line safe whatever a caller passes.
func canonicalIP(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "-"
	}
	return a.Unmap().WithZone("").String()
}

// writeValue writes s with every byte outside the safe set as %XX, or "-"
// when s is empty.
func writeValue(b *strings.Builder, s string) {
	if s == "" {
		b.WriteByte('-')
		return
	}
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safe(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0x0f])
	}
}

// safe is the bytes a value keeps as they are: enough for e-mails, masked
// keys ("sk-ab****wxyz") and ids ("user:42"), and nothing that separates
// fields or lines.
func safe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("._@+*:-", c) >= 0
}

// truncate cuts s to at most n bytes on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
