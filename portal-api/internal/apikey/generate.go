package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math/big"
)

const (
	// KeyPrefix starts every key, as OpenAI's do, so secret scanners and
	// people recognise one.
	KeyPrefix = "sk-"
	// secretBytes is the randomness of a key: 256 bits.
	secretBytes = 32
	// secretLen is the base62 length of secretBytes: 62^43 > 2^256.
	secretLen = 43
	// shownPrefixLen is how much of a key the list shows.
	shownPrefixLen = len(KeyPrefix) + 9
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Generate returns a new key, the prefix shown in lists and the hash stored.
func Generate() (key, prefix, hash string) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on supported platforms
	}
	key = KeyPrefix + encodeBase62(b)
	return key, key[:shownPrefixLen], Hash(key)
}

// Hash returns the hex SHA-256 of a key, the form stored in api_keys.key_hash
// and looked up by the gateway. A plain hash is enough: the key is 256
// random bits, so there is nothing to guess that a slow hash would protect.
func Hash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// encodeBase62 writes b as a fixed-length base62 number, zero-padded, so
// every key has the same length.
func encodeBase62(b []byte) string {
	n := new(big.Int).SetBytes(b)
	out := make([]byte, secretLen)
	base, mod := big.NewInt(62), new(big.Int)
	for i := secretLen - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return string(out)
}
