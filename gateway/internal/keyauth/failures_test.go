package keyauth_test

import (
	"testing"

	"github.com/resayil/portal/gateway/internal/keyauth"
)

func TestPresented(t *testing.T) {
	cases := []struct {
		header, subject string
		ok              bool
	}{
		{"", "", false},
		{"Bearer", "", false},
		{"Bearer   ", "", false},
		{"Basic dXNlcjpwYXNz", "", false},
		{"Bearertoken", "", false},
		{"Bearer sk-abcdefghijklmnopqrstuvwxyz", "sk-ab****wxyz", true},
		{"bearer\tsk-abcdefghijklmnopqrstuvwxyz ", "sk-ab****wxyz", true},
		// Malformed keys were tried too.
		{"Bearer not-a-resayil-key-at-all", "not-a****-all", true},
		{"Bearer short", "****", true},
		{"Bearer sk-abc\x01defghijklmnop\nqrs", "sk-ab****?qrs", true},
	}
	for _, tc := range cases {
		subject, ok := keyauth.Presented(tc.header)
		if subject != tc.subject || ok != tc.ok {
			t.Errorf("Presented(%q) = %q, %v; want %q, %v", tc.header, subject, ok, tc.subject, tc.ok)
		}
	}
}
