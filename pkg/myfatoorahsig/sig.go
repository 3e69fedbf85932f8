// Package myfatoorahsig computes and checks the MyFatoorah-Signature header
// that MyFatoorah puts on its webhooks: base64 of an HMAC-SHA256, keyed by
// the webhook secret, over a canonical text of the event's fields.
//
// It exists as its own small package because two sides must agree on the
// exact same bytes: the fake MyFatoorah (pkg/fake/fakemyfatoorah) signs the
// webhooks it sends, and the portal's real webhook handler verifies them.
// Production code may import this package; it imports only the standard
// library and never the fake.
//
// Both versions compute HMAC-SHA256 over a "key=value,key=value" string,
// keyed with the portal's webhook secret used as-is (it looks like base64 but
// is not decoded), and encode the digest with standard base64:
//   - V1 signs every property of the Data object, keys sorted
//     case-insensitively, values stringified the way PHP's sprintf("%s")
//     does (the official library is PHP).
//   - V2 signs a fixed list of fields per event, in a fixed order.
package myfatoorahsig

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Header is the HTTP header that carries the signature. Look it up with
// http.Header.Get, which is case-insensitive, as HTTP header names are.
const Header = "MyFatoorah-Signature"

var (
	// ErrMismatch means the signature does not match the body and secret.
	ErrMismatch = errors.New("myfatoorahsig: signature mismatch")
	// ErrNoSecret means verification was asked for with an empty secret.
	// An empty secret never verifies: "unsigned" must not be a way past the
	// check.
	ErrNoSecret = errors.New("myfatoorahsig: empty webhook secret")
	// ErrUnsupportedEvent means the V2 event code has no known field list.
	ErrUnsupportedEvent = errors.New("myfatoorahsig: unsupported V2 event code")
)

// mac is the signing primitive shared by both versions.
func mac(canonical, secret string) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(canonical))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// verify compares in constant time; the PHP library uses ===, which leaks
// timing.
func verify(canonical, secret, signature string) error {
	if secret == "" {
		return ErrNoSecret
	}
	want := mac(canonical, secret)
	if !hmac.Equal([]byte(want), []byte(strings.TrimSpace(signature))) {
		return ErrMismatch
	}
	return nil
}

// decode parses JSON keeping numbers as json.Number, so that an integer such
// as InvoiceId 586170 is signed as "586170" and not as "586170.000000" or
// "5.8617e+05".
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("myfatoorahsig: decode webhook body: %w", err)
	}
	return nil
}

// phpString renders a decoded JSON value as PHP's sprintf("%s", $v) would
// after json_decode($body, true): null and false become "", true becomes
// "1", integers their digits, floats PHP's 14-significant-digit form, and
// objects or arrays the literal "Array".
func phpString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "1"
		}
		return ""
	case json.Number:
		return phpNumber(string(x))
	case float64:
		return phpFloat(x)
	case float32:
		return phpFloat(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case map[string]any, []any:
		return "Array"
	default:
		return fmt.Sprint(x)
	}
}

// phpNumber formats a JSON number literal the way PHP's json_decode then
// string cast does: integer literals that fit int64 stay integers, anything
// else becomes a float. MyFatoorah's documentation does not say how it
// formats non-integer numbers; its amounts are strings, so this rarely
// matters.
func phpNumber(lit string) string {
	if !strings.ContainsAny(lit, ".eE") {
		if n, err := strconv.ParseInt(lit, 10, 64); err == nil {
			return strconv.FormatInt(n, 10)
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return lit
	}
	return phpFloat(f)
}

// phpFloat follows PHP's float-to-string cast (ini precision=14):
// 2.5 → "2.5", 36.0 → "36", 1e25 → "1.0E+25".
func phpFloat(f float64) string {
	s := strconv.FormatFloat(f, 'g', 14, 64)
	mant, exp, ok := strings.Cut(s, "e")
	if !ok {
		return s
	}
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := exp[:1]
	digits := strings.TrimLeft(exp[1:], "0")
	return mant + "E" + sign + digits
}
