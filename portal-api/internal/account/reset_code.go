package account

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/resayil/portal/pkg/resayil"
)

// ResetCodeDigits is the length of a password-reset code.
const ResetCodeDigits = 6

// resetCodeSpace is how many codes there are: 10^ResetCodeDigits.
var resetCodeSpace = big.NewInt(1_000_000)

// newResetCode returns a code drawn uniformly from 000000 to 999999.
// rand.Int rejects and redraws the values that would make a plain modulo
// favour the low codes.
func newResetCode() string {
	n, err := rand.Int(rand.Reader, resetCodeSpace)
	if err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	return fmt.Sprintf("%0*d", ResetCodeDigits, n.Int64())
}

// codeHasher makes the stored form of a code: HMAC-SHA256 under a key
// derived from the JWT secret, bound to the user.
//
// Not bcrypt: a million codes are a million guesses whatever the hash
// costs, so a slow hash would only spend CPU on every check. What protects
// a code is that it is secret-keyed (a copy of the table alone cannot be
// searched), short-lived, single-use and ended by a few wrong tries.
// Binding the user id in means a stored hash is worth nothing for another
// user's row. Changing the JWT secret voids the codes outstanding (ten
// minutes' worth at most).
type codeHasher struct{ key []byte }

// resetKeyInfo separates this key from anything else derived from the
// same secret.
const resetKeyInfo = "resayil password-reset code hash v1"

func newCodeHasher(secret []byte) (codeHasher, error) {
	key, err := hkdf.Key(sha256.New, secret, nil, resetKeyInfo, sha256.Size)
	if err != nil {
		return codeHasher{}, fmt.Errorf("derive the reset-code key: %w", err)
	}
	return codeHasher{key: key}, nil
}

// hash returns the hex HMAC of the user's code.
func (h codeHasher) hash(user resayil.UserID, code string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(strconv.FormatInt(int64(user), 10) + ":" + code))
	return hex.EncodeToString(m.Sum(nil))
}

// matches compares in constant time, so the answer's timing does not say
// how much of a guess was right.
func (h codeHasher) matches(user resayil.UserID, code, stored string) bool {
	return hmac.Equal([]byte(h.hash(user, code)), []byte(stored))
}

// NormalizeResetCode returns the code as six ASCII digits, and false when
// code is not one. Surrounding spaces are dropped, and Arabic-Indic
// (٠-٩) and Eastern Arabic-Indic (۰-۹) digits, which Arabic keyboards
// type, read as the same digits.
func NormalizeResetCode(code string) (string, bool) {
	code = strings.TrimSpace(code)
	var b strings.Builder
	for _, r := range code {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '\u0660' && r <= '\u0669':
			b.WriteRune('0' + (r - '\u0660'))
		case r >= '\u06F0' && r <= '\u06F9':
			b.WriteRune('0' + (r - '\u06F0'))
		default:
			return "", false
		}
		if b.Len() > ResetCodeDigits {
			return "", false
		}
	}
	if b.Len() != ResetCodeDigits {
		return "", false
	}
	return b.String(), true
}

// ResetCodeProblem returns why code is not a well-formed reset code, or "".
func ResetCodeProblem(code string) string {
	if strings.TrimSpace(code) == "" {
		return "This field is required."
	}
	if _, ok := NormalizeResetCode(code); !ok {
		return "Must be the 6-digit code sent to you on WhatsApp."
	}
	return ""
}
