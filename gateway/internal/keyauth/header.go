package keyauth

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/resayil/portal/pkg/resayil"
)

// keyPrefix starts every Resayil API key: "sk-", then base62 (apikey,
// in portal-api, makes them).
const keyPrefix = "sk-"

// maxKeyLen bounds what is hashed: real keys are about 50 bytes, and a
// fixed stack buffer of this size keeps hashing free of allocations.
const maxKeyLen = 256

// errNoKey is OpenAI's wording for a request without Bearer credentials, so
// that SDK users see the message they already know.
var errNoKey = &resayil.Error{
	Code: resayil.EUNAUTHORIZED,
	Message: "You didn't provide an API key. You need to provide your API key in an Authorization header " +
		"using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
}

// incorrectKey is the one answer for a malformed, unknown, revoked or
// disabled key: telling them apart would tell a caller which keys exist.
func incorrectKey(key string) error {
	return resayil.Errorf(resayil.EUNAUTHORIZED, "Incorrect API key provided: %s.", MaskKey(key))
}

// parseHeader returns the key of an "Authorization: Bearer sk-..." header.
func parseHeader(header string) (string, error) {
	key, ok := bearerToken(header)
	if !ok {
		return "", errNoKey
	}
	if len(key) > maxKeyLen || !strings.HasPrefix(key, keyPrefix) || len(key) == len(keyPrefix) || !printable(key) {
		return "", incorrectKey(key)
	}
	return key, nil
}

// printable reports whether s is visible ASCII without spaces, which every
// key is; anything else cannot be a key.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// hashKey is SHA-256 of the key, without allocating: the key is copied to a
// stack buffer instead of converted to a heap []byte.
func hashKey(key string) [sha256.Size]byte {
	var buf [maxKeyLen]byte
	n := copy(buf[:], key)
	return sha256.Sum256(buf[:n])
}

// HashKey returns the lowercase hex SHA-256 of a full key ("sk-..."): the
// form api_keys.key_hash stores and KeyStore.LookupKey takes.
func HashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// MaskKey shows a key the way OpenAI's errors do, "sk-ab****wxyz", so a user
// can recognise which key failed without the error revealing it. Short
// strings are masked whole; bytes that are not visible ASCII become '?'.
func MaskKey(key string) string {
	if len(key) < 16 {
		return "****"
	}
	var b strings.Builder
	b.Grow(13)
	writeVisible(&b, key[:5])
	b.WriteString("****")
	writeVisible(&b, key[len(key)-4:])
	return b.String()
}

func writeVisible(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c > '~' {
			c = '?'
		}
		b.WriteByte(c)
	}
}
