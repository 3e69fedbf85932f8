package wallet

import (
	"strconv"
	"strings"

	"github.com/resayil/portal/pkg/resayil"
)

// AlertKind is a balance alert: the user is told, once per credit period,
// that the credits run low or have run out. A period starts with every
// grant (docs/adr/0012-credits-of-this-period.md) and is numbered by the
// wallet's period sequence (wallets.period_seq; the live wallet's seq), so
// an alert fires again only after the next grant.
type AlertKind uint8

const (
	// NoAlert: the debit or refusal raises nothing.
	NoAlert AlertKind = iota
	// AlertLow: a debit took the balance below a fifth of the period's
	// credits.
	AlertLow
	// AlertExhausted: a debit took the balance to zero, or a request was
	// refused for lack of credits.
	AlertExhausted
)

// Outbox events (notifications.event) of the alerts.
const (
	EventCreditsLow       = "credits_low"
	EventCreditsExhausted = "credits_exhausted"
)

// Event returns the outbox event of the alert ("" for NoAlert).
func (k AlertKind) Event() string {
	switch k {
	case AlertLow:
		return EventCreditsLow
	case AlertExhausted:
		return EventCreditsExhausted
	}
	return ""
}

// DebitAlert says which alert a debit that takes the balance from before
// to after raises, period being the credits of this period (M):
//
//   - AlertExhausted when it takes a positive balance to zero;
//   - AlertLow when it crosses below a fifth of M: before*5 >= M and
//     after*5 < M, with M > 0;
//   - NoAlert otherwise.
//
// A debit that does both (from above a fifth straight to zero) raises
// AlertExhausted only: "0 credits left" is what the exhausted message
// says, and sending both at once would only repeat it.
//
// Each debit of a period moves the balance down, so at most one debit of
// the period crosses each line; a reload of the live wallet (which may
// raise the balance again) can make a line be crossed twice, which the
// alert's dedupe key absorbs. Both wallets decide with this function; the
// Redis settle script mirrors it line for line.
func DebitAlert(before, after, period resayil.Credits) AlertKind {
	switch {
	case before > 0 && after == 0:
		return AlertExhausted
	case period > 0 && before*5 >= period && after*5 < period:
		return AlertLow
	}
	return NoAlert
}

// Alert is one balance alert of one account's period.
type Alert struct {
	Kind    AlertKind
	Account resayil.AccountID
	// PeriodSeq numbers the period (wallets.period_seq): the alert fires
	// once per (kind, account, period).
	PeriodSeq int64
	// Balance is what was left: after the debit, or when the request was
	// refused. The low alert tells it to the user.
	Balance resayil.Credits
}

// DedupeKey is the alert's notifications.dedupe_key:
// "<event>:<account>:<period_seq>", so a second alert of the same kind in
// the same period inserts nothing.
func (a Alert) DedupeKey() string {
	return a.Kind.Event() + ":" + strconv.FormatInt(int64(a.Account), 10) + ":" + strconv.FormatInt(a.PeriodSeq, 10)
}

// TopUpURL is the link the alerts (and the 402 answer) send users to:
// publicURL (RESAYIL_PUBLIC_URL, the web app's base URL) + "/billing".
func TopUpURL(publicURL string) string {
	return strings.TrimRight(publicURL, "/") + "/billing"
}
