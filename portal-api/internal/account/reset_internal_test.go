package account

import (
	"regexp"
	"testing"
)

// TestNewResetCode_SixDigitsEvenlySpread: every code is six ASCII digits,
// and each digit position is spread evenly. With 20,000 codes a digit is
// expected 2,000 times per position (standard deviation 42): a bound of
// 1,700 to 2,300 (7 deviations) fails a fair source about once in 10^10
// runs over all 60 counts, and a constant or badly biased one at once.
func TestNewResetCode_SixDigitsEvenlySpread(t *testing.T) {
	six := regexp.MustCompile(`^[0-9]{6}$`)
	var counts [ResetCodeDigits][10]int
	for range 20000 {
		c := newResetCode()
		if !six.MatchString(c) {
			t.Fatalf("code %q is not six digits", c)
		}
		for i, d := range c {
			counts[i][d-'0']++
		}
	}
	for pos, byDigit := range counts {
		for d, n := range byDigit {
			if n < 1700 || n > 2300 {
				t.Errorf("digit %d at position %d drawn %d times in 20000 codes", d, pos, n)
			}
		}
	}
}

func TestCodeHasher(t *testing.T) {
	h, err := newCodeHasher([]byte("a secret of at least sixteen bytes"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := newCodeHasher([]byte("another secret of sixteen bytes+"))
	if err != nil {
		t.Fatal(err)
	}
	stored := h.hash(7, "482913")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(stored) {
		t.Fatalf("stored form %q", stored)
	}
	for _, tc := range []struct {
		name string
		ok   bool
		got  bool
	}{
		{"the right code", true, h.matches(7, "482913", stored)},
		{"a wrong code", false, h.matches(7, "482914", stored)},
		{"another user's row", false, h.matches(8, "482913", stored)},
		{"another secret", false, other.matches(7, "482913", stored)},
	} {
		if tc.got != tc.ok {
			t.Errorf("%s: matches = %v, want %v", tc.name, tc.got, tc.ok)
		}
	}
}

func TestNormalizeResetCode(t *testing.T) {
	for in, want := range map[string]string{
		"482913":           "482913",
		" 482913\t":        "482913",
		"٤٨٢٩١٣":           "482913", // Arabic-Indic
		"۴۸۲۹۱۳":           "482913", // Eastern Arabic-Indic (Persian, Urdu)
		"48٢9۱3":           "482913",
		"48291":            "",
		"4829134":          "",
		"48 2913":          "",
		"48291a":           "",
		"４８２９１３":           "", // fullwidth digits are not accepted
		"":                 "",
		"482913\u202e":     "",
		"-48291":           "",
		"0000000000000000": "",
	} {
		got, ok := NormalizeResetCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeResetCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
