package account

import "strings"

// MaxEmailLen is the longest address accepted (RFC 5321's path limit).
const MaxEmailLen = 254

// E-mail messages, shared by the HTTP validator and the service so both say
// the same thing.
const (
	msgEmailInvalid  = "Must be a valid e-mail address."
	msgEmailNotASCII = "Must contain only ASCII letters, digits and symbols; internationalised addresses are not accepted."
)

// NormalizeEmail returns the form an e-mail address is stored, compared and
// looked up by, and false when the address is not one the portal accepts.
//
// It is the only e-mail normalisation in portal-api. Only ASCII addresses
// are accepted and only A-Z are folded: Unicode case folding maps look-alikes
// onto ASCII (strings.ToLower turns the Kelvin sign U+212A into "k"), which
// let "\u212Aate@example.com" register as, and then log in as,
// "kate@example.com". With ASCII only, two addresses reach one account
// exactly when they differ in the case of A-Z or in surrounding spaces.
func NormalizeEmail(email string) (string, bool) {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > MaxEmailLen {
		return "", false
	}
	b := []byte(email)
	for i, c := range b {
		if c <= ' ' || c >= 0x7f {
			return "", false
		}
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b), true
}

// EmailProblem returns why email cannot be registered, as a sentence for
// the user, or "" when it can. The HTTP layer adds a stricter syntax check.
func EmailProblem(email string) string {
	email = strings.TrimSpace(email)
	switch {
	case email == "":
		return "This field is required."
	case len(email) > MaxEmailLen:
		return "Must be at most 254 characters."
	}
	norm, ok := NormalizeEmail(email)
	if !ok {
		if !isPrintableASCII(email) {
			return msgEmailNotASCII
		}
		return msgEmailInvalid
	}
	local, domain, found := strings.Cut(norm, "@")
	if !found || local == "" || domain == "" || strings.Contains(domain, "@") {
		return msgEmailInvalid
	}
	return ""
}

// emailLocalPart is what comes before the last @ of an address.
func emailLocalPart(email string) string {
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		return email[:i]
	}
	return email
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
