package myfatoorah

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/resayil/portal/pkg/resayil"
)

// text accepts a JSON string, number or null: MyFatoorah sends ids
// (InvoiceId, PaymentId, TransactionId) as either.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*t = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(strings.TrimSpace(s))
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("want a string or a number, got %s", b)
		}
		*t = text(n)
	}
	return nil
}

// parseNumber reads a JSON number (or a string holding one) as fils,
// exactly: at most three significant decimals, no exponent. Anything else
// is not an amount the portal can compare, and ok is false.
func parseNumber(raw json.RawMessage) (resayil.Fils, bool) {
	var t text
	if len(raw) == 0 || json.Unmarshal(raw, &t) != nil || t == "" {
		return 0, false
	}
	return parseFils(string(t))
}

// parseFils reads "5", "5.5", "5.000" or "5.0000" as fils, without a float.
func parseFils(lit string) (resayil.Fils, bool) {
	lit = strings.TrimSpace(lit)
	whole, frac, _ := strings.Cut(lit, ".")
	frac = strings.TrimRight(frac, "0")
	if whole == "" || len(whole) > 12 || len(frac) > 3 || !digits(whole) || !digits(frac) {
		return 0, false
	}
	var v int64
	for _, c := range whole + (frac + "000")[:3] {
		v = v*10 + int64(c-'0')
	}
	return resayil.Fils(v), true
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// parseDisplayValue reads InvoiceDisplayValue, "<amount> <currency>" such
// as "5.000 KD", into fils and an ISO currency code.
func parseDisplayValue(s string) (resayil.Fils, string, bool) {
	f := strings.Fields(strings.ReplaceAll(s, ",", ""))
	if len(f) != 2 {
		return 0, "", false
	}
	amount, cur := f[0], f[1]
	if _, ok := parseFils(amount); !ok {
		amount, cur = f[1], f[0] // "KD 5.000"
	}
	v, ok := parseFils(amount)
	if !ok {
		return 0, "", false
	}
	return v, isoCurrency(cur), true
}

// isoCurrency maps MyFatoorah's currency text to an ISO code: it writes
// Kuwaiti dinars as "KD".
func isoCurrency(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "KD" {
		return "KWD"
	}
	return s
}
