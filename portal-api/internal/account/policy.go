package account

import (
	"bufio"
	_ "embed"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/resayil/portal/pkg/resayil"
)

// Password rules. bcrypt reads at most 72 bytes, so a longer password would
// be silently cut; it is refused instead.
const (
	MinPasswordLen   = 10
	MaxPasswordBytes = 72
	MaxNameLen       = 100
)

//go:embed common-passwords.txt
var commonPasswordsFile string

var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 16384)
	sc := bufio.NewScanner(strings.NewReader(commonPasswordsFile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[strings.ToLower(line)] = struct{}{}
	}
	return set
})

// IsCommonPassword reports whether password is on the embedded list of
// common passwords, compared case-insensitively.
func IsCommonPassword(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}

// PasswordProblem returns why password is not acceptable as a new password,
// as a sentence for the user, or "" when it is. PersonalPasswordProblem adds
// the checks that need the user's details.
func PasswordProblem(password string) string {
	switch {
	case strings.TrimSpace(password) == "":
		return "Must not be only spaces."
	case TextProblem(password) != "":
		return TextProblem(password)
	case utf8.RuneCountInString(password) < MinPasswordLen:
		return "Must be at least 10 characters."
	case len(password) > MaxPasswordBytes:
		return "Must be at most 72 bytes."
	case IsCommonPassword(password):
		return "This password is too common; choose one that is harder to guess."
	}
	return ""
}

// Personal is what a user has told us about themselves; a password equal
// to any of it is the first thing a guesser tries.
type Personal struct {
	Email, Name, Phone string
}

// PersonalPasswordProblem returns why password may not be used by the
// person p, or "". It refuses, case-insensitively and ignoring surrounding
// spaces, the e-mail address, its local part, the name and the phone
// number (with or without its plus sign).
func PersonalPasswordProblem(password string, p Personal) string {
	pw := strings.TrimSpace(password)
	phone := strings.TrimSpace(p.Phone)
	for _, v := range []string{p.Email, emailLocalPart(strings.TrimSpace(p.Email)), p.Name, phone, strings.TrimPrefix(phone, "+")} {
		if v = strings.TrimSpace(v); v != "" && strings.EqualFold(pw, v) {
			return "Must not be your e-mail address, name or phone number."
		}
	}
	return ""
}

// PhoneProblem returns why phone is not an E.164 number (a plus sign, a
// country code and the subscriber number, digits only: +96512345678), or ""
// when it is one. Numbers that cannot exist in the country's numbering plan
// (too short or too long) are refused too.
func PhoneProblem(phone string) string {
	const msg = "Must be a phone number in international format, such as +96512345678."
	if len(phone) < 8 || len(phone) > 16 || phone[0] != '+' || phone[1] == '0' {
		return msg
	}
	for i := 1; i < len(phone); i++ {
		if phone[i] < '0' || phone[i] > '9' {
			return msg
		}
	}
	n, err := phonenumbers.Parse(phone, "")
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return msg
	}
	return ""
}

// NameProblem returns why name is not acceptable, or "".
func NameProblem(name string) string {
	switch n := utf8.RuneCountInString(strings.TrimSpace(name)); {
	case n == 0:
		return "This field is required."
	case n > MaxNameLen:
		return "Must be at most 100 characters."
	}
	return TextProblem(name)
}

// Locales are the supported languages, the default first.
var Locales = []resayil.Locale{resayil.LocaleEN, resayil.LocaleAR}

// ValidLocale reports whether l is a supported locale.
func ValidLocale(l resayil.Locale) bool { return slices.Contains(Locales, l) }
