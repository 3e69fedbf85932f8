package apikey_test

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"testing"

	"github.com/resayil/portal/portal-api/internal/apikey"
)

func TestGenerate(t *testing.T) {
	format := regexp.MustCompile(`^sk-[0-9A-Za-z]{43}$`)
	seen := map[string]bool{}
	for range 1000 {
		key, prefix, hash := apikey.Generate()
		if !format.MatchString(key) {
			t.Fatalf("key %q is not sk- and 43 base62 characters", key)
		}
		if prefix != key[:12] || len(prefix) > 16 {
			t.Fatalf("prefix %q of %q", prefix, key)
		}
		sum := sha256.Sum256([]byte(key))
		if hash != hex.EncodeToString(sum[:]) || hash != apikey.Hash(key) {
			t.Fatalf("hash %q is not the hex SHA-256 of the key", hash)
		}
		if seen[key] {
			t.Fatal("a key repeated")
		}
		seen[key] = true
	}
}

func BenchmarkGenerate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		apikey.Generate()
	}
}
