package walletredis

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// UsageVersion is the format version of the usage events Settle writes:
// one field, fieldEvent, whose value starts with the version. DecodeUsage
// reads this version and the ones before it (usageVersion4 and
// usageVersion3: during a rolling deploy, gateways not yet upgraded still
// write them); an event of any other version is refused, so a format
// change shows up as parked events, never as wrong records.
const UsageVersion = "5"

// usageVersion4 is format 4: format 5 without the balance alert.
const usageVersion4 = "4"

// usageVersion3 is format 3: format 4 without the held credits.
const usageVersion3 = "3"

// AlertVersion is the format version of the alert events Reserve writes
// when it refuses a request's hold for lack of credits: one field,
// fieldAlert, holding AlertVersion, account_id and the alert, separated
// by packSep.
const AlertVersion = "1"

// fieldAlert is the one field of an alert event.
const fieldAlert = "a"

// packSep separates an event's values (ASCII unit separator). The values
// before the last never hold it (wallet.Settlement.Validate).
const packSep = '\x1f'

// fieldEvent is the one field of an event: UsageVersion, request_id,
// account_id, credits, shortfall_credits, created_at_ms, alert (format 5),
// then the packed rest (packUsage), separated by packSep. One field instead of a field per
// value: Redis then stores, sends and the writer parses one string per
// event, which is cheaper on all three (measured per request in a
// benchmark run).
const fieldEvent = "e"

// eventHead is how many values of an event come before the alert (format
// 5) and the packed rest.
const eventHead = 6

// packedNumbers are the numbers of the packed rest, in order: what the
// settle script does not compute, api_key_id, prompt_tokens,
// completion_tokens, total_tokens, latency_ms, ttfb_ms, then (format 4)
// held_credits. The strings follow: backend, status, model and
// client_request_id. The client's id comes last, so it may hold any byte.
const (
	packedNumbers     = 7
	packedNumbersPrev = 6 // format 3: no held_credits
	packedStrings     = 4
)

// packUsage encodes the packed rest of an event; the settle script
// prepends the head.
func packUsage(u wallet.Usage) string {
	b := make([]byte, 0, 72+len(u.Model)+len(u.ClientRequestID))
	for _, n := range [packedNumbers]int64{u.APIKeyID, int64(u.PromptTokens), int64(u.CompletionTokens), int64(u.TotalTokens),
		u.Latency.Milliseconds(), u.TTFB.Milliseconds(), int64(u.Held)} {
		b = strconv.AppendInt(b, n, 10)
		b = append(b, packSep)
	}
	for _, s := range [...]string{u.Backend, u.Status, u.Model} {
		b = append(b, s...)
		b = append(b, packSep)
	}
	return string(append(b, u.ClientRequestID...))
}

// unpackUsage decodes the packed rest of an event holding numbers packed
// numbers (packedNumbers, or packedNumbersPrev for format 3).
func unpackUsage(s string, numbers int) (wallet.Usage, error) {
	var f [packedNumbers + packedStrings]string
	fields := numbers + packedStrings
	for i := range fields - 1 {
		v, rest, ok := strings.Cut(s, string(packSep))
		if !ok {
			return wallet.Usage{}, fmt.Errorf("field %s: %d packed values, want %d", fieldEvent, i+1, fields)
		}
		f[i], s = v, rest
	}
	f[fields-1] = s
	var n [packedNumbers]int64
	for i := range numbers {
		if f[i] == "" {
			continue
		}
		v, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil {
			return wallet.Usage{}, fmt.Errorf("field %s, packed value %d: %w", fieldEvent, i+1, err)
		}
		n[i] = v
	}
	str := f[numbers:]
	return wallet.Usage{
		APIKeyID: n[0], PromptTokens: int(n[1]), CompletionTokens: int(n[2]), TotalTokens: int(n[3]),
		Latency: time.Duration(n[4]) * time.Millisecond, TTFB: time.Duration(n[5]) * time.Millisecond,
		Held:    resayil.Credits(n[6]),
		Backend: str[0], Status: str[1], Model: str[2], ClientRequestID: str[3],
	}, nil
}

// Usage is one usage event read back from a stream: a usage_records row to
// insert and a debit to apply to the durable balance.
type Usage struct {
	// StreamID is the entry's id, to acknowledge and delete it.
	StreamID  string
	RequestID string
	Account   resayil.AccountID
	// Credits is the debit charged; Shortfall what the balance could not pay.
	Credits   resayil.Credits
	Shortfall resayil.Credits
	CreatedAt time.Time
	wallet.Usage
}

// Event is one entry of a usage stream: a usage event (Settle's), or an
// alert event (Reserve's refusal of a request for lack of credits).
type Event struct {
	// StreamID is the entry's id, to acknowledge and delete it.
	StreamID string
	// Usage is the usage event; nil for an alert event.
	Usage *Usage
	// Alert is the balance alert the entry carries: the one a usage event's
	// debit raised (wallet.DebitAlert; Kind NoAlert, nearly always, when
	// none), or an alert event's (AlertExhausted).
	Alert wallet.Alert
}

// ErrNotUsage is DecodeUsage's error for an alert event: a valid entry
// that is no usage event.
var ErrNotUsage = errors.New("walletredis: an alert event, not a usage event")

// DecodeEvent parses a usage stream entry. It fails on an unknown format
// version or a malformed value, so the writer can park such an entry
// instead of recording it wrongly.
func DecodeEvent(m redis.XMessage) (Event, error) {
	if a, ok := m.Values[fieldAlert].(string); ok {
		alert, err := decodeAlertEvent(a)
		if err != nil {
			return Event{}, fmt.Errorf("walletredis: alert event %s: %w", m.ID, err)
		}
		return Event{StreamID: m.ID, Alert: alert}, nil
	}
	e, ok := m.Values[fieldEvent].(string)
	if !ok {
		return Event{}, fmt.Errorf("walletredis: usage event %s: no field %s (format version %s) nor %s", m.ID, fieldEvent, UsageVersion, fieldAlert)
	}
	u, alert, err := decodeEvent(e)
	if err != nil {
		return Event{}, fmt.Errorf("walletredis: usage event %s: %w", m.ID, err)
	}
	if u.RequestID == "" || u.Account <= 0 {
		return Event{}, fmt.Errorf("walletredis: usage event %s: no request id or account", m.ID)
	}
	u.StreamID = m.ID
	return Event{StreamID: m.ID, Usage: &u, Alert: alert}, nil
}

// DecodeUsage parses a usage event: DecodeEvent, with an alert event an
// error wrapping ErrNotUsage.
func DecodeUsage(m redis.XMessage) (Usage, error) {
	ev, err := DecodeEvent(m)
	if err != nil {
		return Usage{}, err
	}
	if ev.Usage == nil {
		return Usage{}, fmt.Errorf("walletredis: entry %s: %w", m.ID, ErrNotUsage)
	}
	return *ev.Usage, nil
}

// decodeEvent parses a usage event's one field.
func decodeEvent(e string) (Usage, wallet.Alert, error) {
	var head [eventHead]string
	for i := range head {
		v, rest, ok := strings.Cut(e, string(packSep))
		if !ok {
			return Usage{}, wallet.Alert{}, fmt.Errorf("field %s: %d values before the packed ones, want %d", fieldEvent, i+1, eventHead)
		}
		head[i], e = v, rest
	}
	numbers, alert := packedNumbers, ""
	switch head[0] {
	case UsageVersion:
		v, rest, ok := strings.Cut(e, string(packSep))
		if !ok {
			return Usage{}, wallet.Alert{}, fmt.Errorf("field %s: no alert", fieldEvent)
		}
		alert, e = v, rest
	case usageVersion4:
	case usageVersion3:
		numbers = packedNumbersPrev
	default:
		return Usage{}, wallet.Alert{}, fmt.Errorf("format version %q, want %q, %q or %q", head[0], UsageVersion, usageVersion4, usageVersion3)
	}
	var n [4]int64
	for i, name := range [...]string{"account_id", "credits", "shortfall_credits", "created_at_ms"} {
		v, err := strconv.ParseInt(head[2+i], 10, 64)
		if err != nil {
			return Usage{}, wallet.Alert{}, fmt.Errorf("field %s, %s: %w", fieldEvent, name, err)
		}
		n[i] = v
	}
	rest, err := unpackUsage(e, numbers)
	if err != nil {
		return Usage{}, wallet.Alert{}, err
	}
	u := Usage{RequestID: head[1], Account: resayil.AccountID(n[0]), Credits: resayil.Credits(n[1]),
		Shortfall: resayil.Credits(n[2]), CreatedAt: time.UnixMilli(n[3]).UTC(), Usage: rest}
	var a wallet.Alert
	if alert != "" {
		if a, err = decodeAlert(u.Account, alert); err != nil {
			return Usage{}, wallet.Alert{}, fmt.Errorf("field %s: %w", fieldEvent, err)
		}
	}
	return u, a, nil
}

// decodeAlertEvent parses an alert event's one field: AlertVersion,
// account_id, alert.
func decodeAlertEvent(e string) (wallet.Alert, error) {
	version, rest, ok := strings.Cut(e, string(packSep))
	if !ok || version != AlertVersion {
		return wallet.Alert{}, fmt.Errorf("field %s: format version %q, want %q", fieldAlert, version, AlertVersion)
	}
	acct, alert, ok := strings.Cut(rest, string(packSep))
	if !ok {
		return wallet.Alert{}, fmt.Errorf("field %s: no alert", fieldAlert)
	}
	id, err := strconv.ParseInt(acct, 10, 64)
	if err != nil || id <= 0 {
		return wallet.Alert{}, fmt.Errorf("field %s: account_id %q", fieldAlert, acct)
	}
	a, err := decodeAlert(resayil.AccountID(id), alert)
	if err != nil {
		return wallet.Alert{}, fmt.Errorf("field %s: %w", fieldAlert, err)
	}
	return a, nil
}

// decodeAlert parses an alert as the scripts write it:
// "<low|exhausted>:<period_seq>:<balance>".
func decodeAlert(acct resayil.AccountID, s string) (wallet.Alert, error) {
	kind, rest, ok1 := strings.Cut(s, ":")
	seq, bal, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return wallet.Alert{}, fmt.Errorf("alert %q, want kind:period:balance", s)
	}
	a := wallet.Alert{Account: acct}
	switch kind {
	case "low":
		a.Kind = wallet.AlertLow
	case "exhausted":
		a.Kind = wallet.AlertExhausted
	default:
		return wallet.Alert{}, fmt.Errorf("alert kind %q", kind)
	}
	var err error
	if a.PeriodSeq, err = strconv.ParseInt(seq, 10, 64); err != nil || a.PeriodSeq < 0 {
		return wallet.Alert{}, fmt.Errorf("alert period %q", seq)
	}
	b, err := strconv.ParseInt(bal, 10, 64)
	if err != nil || b < 0 {
		return wallet.Alert{}, fmt.Errorf("alert balance %q", bal)
	}
	a.Balance = resayil.Credits(b)
	return a, nil
}
