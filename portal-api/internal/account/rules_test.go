package account_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"kate@example.com":       "kate@example.com",
		"  KATE@Example.COM \t":  "kate@example.com",
		"O'Brien+x@ex-ample.org": "o'brien+x@ex-ample.org",
		"\u212Aate@example.com":  "", // Kelvin sign: strings.ToLower makes it "k"
		"kat\u00e9@example.com":  "",
		"\u0130nci@example.com":  "", // dotted capital I: ToLower gives "i̇"
		"kate@exa mple.com":      "",
		"kate\x00@example.com":   "",
		"":                       "",
	} {
		got, ok := account.NormalizeEmail(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestEmailProblem(t *testing.T) {
	const notASCII = "Must contain only ASCII letters, digits and symbols; internationalised addresses are not accepted."
	for in, want := range map[string]string{
		"kate@example.com":      "",
		" kate@example.com ":    "",
		"\u212Aate@example.com": notASCII,
		"kate@b\u00fccher.de":   notASCII,
		"kate":                  "Must be a valid e-mail address.",
		"@example.com":          "Must be a valid e-mail address.",
		"kate@":                 "Must be a valid e-mail address.",
		"a@b@c":                 "Must be a valid e-mail address.",
		"   ":                   "This field is required.",
	} {
		if got := account.EmailProblem(in); got != want {
			t.Errorf("EmailProblem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextProblem(t *testing.T) {
	const bad = "Must not contain control characters or invisible direction marks."
	for in, want := range map[string]string{
		"Fatima Al-Sabah":  "",
		"نسترن\u200cمحمدی": "", // ZWNJ
		"a\u200db":         "", // ZWJ
		"a\u0000b":         bad,
		"a\tb":             bad,
		"a\u007fb":         bad,
		"a\u0085b":         bad,
		"a\u200eb":         bad,
		"a\u200fb":         bad,
		"a\u061cb":         bad,
		"a\u202ab":         bad,
		"a\u202eb":         bad,
		"a\u2066b":         bad,
		"a\u2069b":         bad,
	} {
		if got := account.TextProblem(in); got != want {
			t.Errorf("TextProblem(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPersonalPasswordProblem(t *testing.T) {
	const personal = "Must not be your e-mail address, name or phone number."
	p := account.Personal{Email: "Fatima.AlSabah@example.com", Name: "Fatima Al-Sabah", Phone: "+96512345678"}
	for pw, want := range map[string]string{
		"fatima.alsabah@example.com": personal,
		"FATIMA.ALSABAH":             personal,
		"fatima al-sabah":            personal,
		" Fatima Al-Sabah ":          personal,
		"+96512345678":               personal,
		"96512345678":                personal,
		"plum-orbit-cactus-42":       "",
		"fatima al-sabah 2":          "",
	} {
		if got := account.PersonalPasswordProblem(pw, p); got != want {
			t.Errorf("PersonalPasswordProblem(%q) = %q, want %q", pw, got, want)
		}
	}
}

func TestPasswordProblem_SpacesAndControls(t *testing.T) {
	for pw, want := range map[string]string{
		"          ":           "Must not be only spaces.",
		"\u00a0\u3000        ": "Must not be only spaces.",
		"plum-orbit\x00cactus": "Must not contain control characters or invisible direction marks.",
		"  plum orbit cactus ": "",
	} {
		if got := account.PasswordProblem(pw); got != want {
			t.Errorf("PasswordProblem(%q) = %q, want %q", pw, got, want)
		}
	}
}

func TestHashGate(t *testing.T) {
	if _, err := account.NewHashGate(0, time.Second); err == nil {
		t.Error("a gate of no slots was accepted")
	}
	g, err := account.NewHashGate(2, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r1, err1 := g.Acquire(ctx)
	r2, err2 := g.Acquire(ctx)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	start := time.Now()
	_, err = g.Acquire(ctx)
	var te *account.ThrottledError
	if !errors.As(err, &te) || resayil.ErrorCode(err) != resayil.ERATELIMITED || te.RetryAfter() != time.Second {
		t.Fatalf("full gate: %v", err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("refused after %s, before the wait", d)
	}
	r1()
	// A slot given back while a request waits goes to that request.
	wide, _ := account.NewHashGate(2, time.Minute)
	h1, _ := wide.Acquire(ctx)
	h2, _ := wide.Acquire(ctx)
	go func() { time.Sleep(5 * time.Millisecond); h1() }()
	r3, err := wide.Acquire(ctx)
	if err != nil {
		t.Fatalf("waiting for a released slot: %v", err)
	}
	r3()
	h2()
	r2()
	// A cancelled request stops waiting.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	full, _ := account.NewHashGate(1, time.Minute)
	hold, _ := full.Acquire(ctx)
	if _, err := full.Acquire(cctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v", err)
	}
	hold()
}
