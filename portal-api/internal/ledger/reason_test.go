package ledger_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/resayil/portal/portal-api/internal/ledger"
)

func TestReasonProblem(t *testing.T) {
	for reason, bad := range map[string]bool{
		"":                                   true,
		"   ":                                true,
		"ab":                                 true,
		" ab ":                               true,
		"abc":                                false,
		"شكر":                                false, // three characters, six bytes
		strings.Repeat("é", 500):             false,
		strings.Repeat("é", 501):             true,
		" " + strings.Repeat("a", 500) + " ": false,
	} {
		if got := ledger.ReasonProblem(reason) != ""; got != bad {
			t.Errorf("ReasonProblem(%q) refuses: %v, want %v", reason, got, bad)
		}
	}
}

// TestLedgerReason: the ledger's column keeps at most 255 bytes, cut
// between characters and marked; a short reason is kept as it is.
func TestLedgerReason(t *testing.T) {
	if got := ledger.LedgerReason("goodwill"); got != "goodwill" {
		t.Errorf("short reason: %q", got)
	}
	long := strings.Repeat("ش", 300) // 600 bytes
	got := ledger.LedgerReason(long)
	if len(got) > ledger.MaxReasonLen || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") || !strings.HasPrefix(long, strings.TrimSuffix(got, "…")) {
		t.Errorf("long reason: %d bytes, %q", len(got), got)
	}
	exact := strings.Repeat("a", ledger.MaxReasonLen)
	if got := ledger.LedgerReason(exact); got != exact {
		t.Errorf("a reason of exactly %d bytes was cut", ledger.MaxReasonLen)
	}
}
