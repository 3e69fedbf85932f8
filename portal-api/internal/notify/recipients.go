package notify

import (
	"fmt"
	"strings"
)

// Recipients decides who n goes to, from the store's candidates and, for
// AudienceAdmins, the configured admin phones (RESAYIL_ADMIN_PHONES). A
// candidate is skipped when disabled, without a real phone number, or,
// unless n is a password-reset code the user asked for, without
// whatsapp_opt_in; admins are users like any other here. Phones are
// deduplicated (the first holder keeps it). With nobody left, the second
// result says why, for the row's last_error.
func Recipients(n Notification, candidates []Candidate, adminPhones []string) ([]Recipient, string) {
	consent := n.Event != EventPasswordResetCode
	var (
		out                                  []Recipient
		seen                                 = map[string]bool{}
		disabled, noConsent, noPhone, copies int
	)
	add := func(r Recipient) {
		if seen[r.Phone] {
			copies++
			return
		}
		seen[r.Phone] = true
		out = append(out, r)
	}
	for _, c := range candidates {
		phone, ok := NormalizePhone(c.Phone)
		switch {
		case c.Disabled:
			disabled++
		case !ok || phone == PlaceholderPhone:
			noPhone++
		case consent && !c.OptIn:
			noConsent++
		default:
			add(Recipient{User: c.User, Phone: phone})
		}
	}
	if n.Audience == AudienceAdmins {
		for _, p := range adminPhones {
			if phone, ok := NormalizePhone(p); ok && phone != PlaceholderPhone {
				add(Recipient{Phone: phone})
			}
		}
	}
	if len(out) > 0 {
		return out, ""
	}
	return nil, skipReason(n, len(candidates), disabled, noConsent, noPhone)
}

func skipReason(n Notification, candidates, disabled, noConsent, noPhone int) string {
	if candidates == 0 {
		if n.Audience == AudienceAdmins {
			return "no recipient: no admin user, and RESAYIL_ADMIN_PHONES is empty"
		}
		return "no recipient: the account has no user to notify"
	}
	var why []string
	if noConsent > 0 {
		why = append(why, fmt.Sprintf("%d without WhatsApp consent (whatsapp_opt_in)", noConsent))
	}
	if noPhone > 0 {
		why = append(why, fmt.Sprintf("%d without a real phone number", noPhone))
	}
	if disabled > 0 {
		why = append(why, fmt.Sprintf("%d disabled", disabled))
	}
	msg := "no recipient: " + strings.Join(why, ", ")
	if n.Audience == AudienceAdmins {
		msg += "; RESAYIL_ADMIN_PHONES adds none"
	}
	return msg
}

// NormalizePhone returns p as "+" and its digits when it is a phone
// number in international format (+96550000000 or 96550000000, 8 to 15
// digits, not starting with 0), so that one number is one recipient
// however it was written.
func NormalizePhone(p string) (string, bool) {
	digits := strings.TrimPrefix(strings.TrimSpace(p), "+")
	if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
		return "", false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	return "+" + digits, true
}
