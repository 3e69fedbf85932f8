package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

const (
	msgNotASCII = "Must contain only ASCII letters, digits and symbols; internationalised addresses are not accepted."
	msgControl  = "Must not contain control characters or invisible direction marks."
	msgPersonal = "Must not be your e-mail address, name or phone number."
)

// fieldError is the 400 of one bad field.
func fieldError(field, msg string) apitest.ErrorDetail {
	return apitest.ErrorDetail{Code: "invalid", Message: msg, Fields: []apitest.FieldError{{Field: field, Message: msg}}}
}

func wantFieldError(t *testing.T, res *apitest.Response, field, msg string) {
	t.Helper()
	got := res.Want(t, http.StatusBadRequest).Error(t)
	if diff := cmp.Diff(fieldError(field, msg), got); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

// TestEmail_LookAlikes: the Kelvin sign (U+212A) lower-cases to "k" in
// Unicode, so "\u212Aate@" used to register as "kate@" and take that
// address over. Only ASCII addresses are accepted, and only A-Z fold.
func TestEmail_LookAlikes(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		t.Run("kelvinSignRefused", func(t *testing.T) {
			t.Parallel()
			kate := apitest.UniqueEmail("kate")
			kelvin := "\u212A" + kate[1:]
			wantFieldError(t, h.NewClient().Do(t, post("/api/v1/auth/register", validRegistration(kelvin))), "email", msgNotASCII)
			// The real kate is free, and the look-alike cannot log in as her.
			owner := h.NewClient()
			u := owner.Register(t, kate)
			wantFieldError(t, h.NewClient().Do(t, login(kelvin, apitest.DefaultPassword, false)), "email", msgNotASCII)
			if got := h.NewClient().Login(t, kate, apitest.DefaultPassword, false); got.User.ID != u.ID {
				t.Errorf("kate logged in as user %d, registered %d", got.User.ID, u.ID)
			}
		})
		t.Run("nonASCIIRefused", func(t *testing.T) {
			t.Parallel()
			for _, email := range []string{"kat\u00e9@example.com", "kate@ex\u00e4mple.com", "\u0138ate@example.com", "\uff4bate@example.com"} {
				wantFieldError(t, h.NewClient().Do(t, post("/api/v1/auth/register", validRegistration(email))), "email", msgNotASCII)
			}
			wantFieldError(t, h.NewClient().Do(t, post("/api/v1/auth/register", validRegistration("kate @example.com"))), "email", "Must be a valid e-mail address.")
		})
		t.Run("caseOfASCIIReachesOneAccount", func(t *testing.T) {
			t.Parallel()
			kate := apitest.UniqueEmail("kate")
			upper := strings.ToUpper(kate)
			u := h.NewClient().Register(t, kate)
			h.NewClient().Do(t, post("/api/v1/auth/register", validRegistration(upper))).Want(t, http.StatusConflict)
			for _, as := range []string{kate, upper, " " + upper + " "} {
				if got := h.NewClient().Login(t, as, apitest.DefaultPassword, false); got.User.ID != u.ID || got.User.Email != kate {
					t.Errorf("login as %q: user %+v, want %d", as, got.User, u.ID)
				}
			}
		})
		t.Run("storedLookAlikeNotReached", func(t *testing.T) {
			t.Parallel()
			// Rows stored before the rule may hold non-ASCII addresses. On
			// MariaDB the column's collation compares 'katé' equal to
			// 'kate' (and the Kelvin sign to 'k'): the lookup must not.
			for _, legacy := range []func(string) string{
				func(e string) string { return "kat\u00e9" + e[4:] },
				func(e string) string { return "\u212A" + e[1:] },
			} {
				kate := apitest.UniqueEmail("kate")
				old := legacy(kate)
				u := h.NewClient().Register(t, "tmp-"+kate)
				if err := h.DB.Gorm.Exec("UPDATE users SET email = ?, email_normalized = ? WHERE id = ?", old, old, u.ID).Error; err != nil {
					t.Fatal(err)
				}
				h.NewClient().Do(t, login(kate, apitest.DefaultPassword, false)).Want(t, http.StatusUnauthorized)
				h.NewClient().Do(t, login(strings.ToUpper(kate), apitest.DefaultPassword, false)).Want(t, http.StatusUnauthorized)
				h.NewClient().Do(t, login(old, apitest.DefaultPassword, false)).Want(t, http.StatusBadRequest)
			}
		})
	})
}

// TestPasswordRules: passwords a guesser tries first are refused, on
// registration and on a password change, case-insensitively.
func TestPasswordRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		t.Run("register", func(t *testing.T) {
			t.Parallel()
			email := apitest.UniqueEmail("long-local-part")
			for _, tc := range []struct{ password, msg string }{
				{"          ", "Must not be only spaces."},
				{"\u00a0\u2003        ", "Must not be only spaces."},
				{strings.ToUpper(email), msgPersonal},
				{" " + email + " ", msgPersonal},
				{strings.ToUpper(email[:strings.IndexByte(email, '@')]), msgPersonal},
				{"FATIMA AL-SABAH", msgPersonal},
				{"+96512345678", msgPersonal},
				{"96512345678", msgPersonal},
				{"good-pass\u0000word", msgControl},
			} {
				body := validRegistration(email)
				body["password"] = tc.password
				wantFieldError(t, h.NewClient().Do(t, post("/api/v1/auth/register", body)), "password", tc.msg)
			}
		})
		t.Run("change", func(t *testing.T) {
			t.Parallel()
			c, u := h.SignUp(t, "changer-long-name")
			for _, next := range []string{strings.ToUpper(u.Email), "TEST USER ", u.Phone} {
				wantFieldError(t, c.Do(t, changePassword(apitest.DefaultPassword, next)), "new_password", msgPersonal)
			}
			wantFieldError(t, c.Do(t, changePassword(apitest.DefaultPassword, "            ")), "new_password", "Must not be only spaces.")
		})
	})
}

// TestTextFields_ControlCharacters: control characters and direction
// overrides are refused in every text field; joiners, which Arabic and
// Persian names need, are not.
func TestTextFields_ControlCharacters(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		t.Run("register", func(t *testing.T) {
			t.Parallel()
			for field, tmpl := range map[string]string{
				"name":  "Fatima%sAli",
				"email": "fatima%s@example.com",
				"phone": "+965123%s45678",
			} {
				for _, ch := range []string{"\u0000", "\u202e"} {
					body := validRegistration(apitest.UniqueEmail("ctl"))
					body[field] = strings.Replace(tmpl, "%s", ch, 1)
					wantFieldError(t, h.NewClient().Do(t, post("/api/v1/auth/register", body)), field, msgControl)
				}
			}
			for _, name := range []string{"Fatima\u202eabaS-lA", "\u2066Fatima\u2069", "Fatima\u200f", "Fa\u0085tima", "Fatima\x7f"} {
				body := validRegistration(apitest.UniqueEmail("bidi"))
				body["name"] = name
				wantFieldError(t, h.NewClient().Do(t, post("/api/v1/auth/register", body)), "name", msgControl)
			}
		})
		t.Run("joinersAccepted", func(t *testing.T) {
			t.Parallel()
			// Persian "Nastaran Mohammadi" with a ZWNJ, and a ZWJ.
			for _, name := range []string{"نسترن محمدی\u200cنژاد", "Fatima\u200dAli"} {
				body := validRegistration(apitest.UniqueEmail("zwnj"))
				body["name"] = name
				var got apitest.UserResponse
				h.NewClient().Do(t, post("/api/v1/auth/register", body)).Want(t, http.StatusCreated).JSON(t, &got)
				if got.User.Name != name {
					t.Errorf("name %q stored as %q", name, got.User.Name)
				}
			}
		})
		t.Run("otherFields", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "ctl")
			wantFieldError(t, c.Do(t, patchMe(map[string]any{"name": "Evil\u202eliveE"})), "name", msgControl)
			wantFieldError(t, c.Do(t, post("/api/v1/api-keys", map[string]any{"name": "ci\u0000key"})), "name", msgControl)
			wantFieldError(t, c.Do(t, login("a\u202e@example.com", "whatever-password", false)), "email", msgControl)
			c.Do(t, patchMe(map[string]any{"name": "Evil\u200cname"})).Want(t, http.StatusOK)
		})
	})
}

// TestRegister_ThrottledPerAddress: registrations count per client
// address, the ones answered 409 too (that answer reveals an address).
func TestRegister_ThrottledPerAddress(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		h := newHarness(t, apitest.Options{Env: []string{"RESAYIL_REGISTER_LIMIT=3", "RESAYIL_REGISTER_WINDOW=1h"}})
		c := h.NewClient()
		taken := apitest.UniqueEmail("taken")
		c.Register(t, taken)
		c.Do(t, post("/api/v1/auth/register", validRegistration(taken))).Want(t, http.StatusConflict)
		c.Register(t, apitest.UniqueEmail("third"))
		res := c.Do(t, post("/api/v1/auth/register", validRegistration(taken))).Want(t, http.StatusTooManyRequests)
		wait := retryAfterWithin(t, res, time.Hour)
		if wait != 20*time.Minute {
			t.Errorf("Retry-After %s, want 20m (one registration every 3600s/3)", wait)
		}
		c.Do(t, post("/api/v1/auth/register", validRegistration(apitest.UniqueEmail("fourth")))).Want(t, http.StatusTooManyRequests)
		// Invalid requests are refused before counting.
		wantFieldError(t, c.Do(t, post("/api/v1/auth/register", validRegistration("x\u00e9@example.com"))), "email", msgNotASCII)
		// Another address is not affected.
		h.NewClient().Register(t, apitest.UniqueEmail("elsewhere"))
		h.Clock.Advance(wait)
		c.Register(t, apitest.UniqueEmail("later"))
	})
}

// TestHashGate_Saturated: with every hashing slot taken, login (a known
// and an unknown e-mail alike), registration and password change answer
// 429 with Retry-After, identically, and the busy answers use up none of
// the caller's login allowance.
func TestHashGate_Saturated(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		gate, err := account.NewHashGate(1, 20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		h := newHarness(t, apitest.Options{HashGate: gate})
		owner, u := h.SignUp(t, "busy")

		release, err := gate.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		c := h.NewClient()
		var bodies []apitest.ErrorDetail
		for range 6 {
			for _, req := range []apitest.Request{
				login(u.Email, apitest.DefaultPassword, false),
				login(apitest.UniqueEmail("unknown"), apitest.DefaultPassword, false),
				post("/api/v1/auth/register", validRegistration(apitest.UniqueEmail("new"))),
			} {
				res := c.Do(t, req).Want(t, http.StatusTooManyRequests)
				if wait := retryAfter(t, res); wait != time.Second {
					t.Errorf("Retry-After %s, want 1s", wait)
				}
				bodies = append(bodies, res.Error(t))
			}
		}
		owner.Do(t, changePassword(apitest.DefaultPassword, "violet-harbor-engine-7")).Want(t, http.StatusTooManyRequests)
		for _, b := range bodies[1:] {
			if !cmp.Equal(b, bodies[0]) {
				t.Errorf("busy answers differ: %+v and %+v", bodies[0], b)
			}
		}
		release()

		// Six busy logins from c did not count: five failures still answer 401.
		for range 5 {
			c.Do(t, login(u.Email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
		}
		h.NewClient().Login(t, u.Email, apitest.DefaultPassword, false)
	})
}

// TestHashGate_BoundsConcurrentHashing: with one slot and no wait, of many
// concurrent registrations at a slow bcrypt cost some are refused at once
// and the rest succeed; none waits in a queue behind the others.
func TestHashGate_BoundsConcurrentHashing(t *testing.T) {
	h := harness(t, testenv.SQLiteBackend, apitest.Options{Env: []string{
		"RESAYIL_BCRYPT_COST=10", "RESAYIL_HASH_CONCURRENCY=1", "RESAYIL_HASH_WAIT=0s",
	}})
	const n = 6
	statuses := make([]int, n)
	var (
		wg   sync.WaitGroup
		errs goErrs
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = errs.status(h.NewClient().Try(post("/api/v1/auth/register", validRegistration(apitest.UniqueEmail("rush")))))
		}()
	}
	wg.Wait()
	errs.report(t)
	created, busy := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusTooManyRequests:
			busy++
		default:
			t.Errorf("status %d", s)
		}
	}
	if created < 1 || busy < 1 {
		t.Errorf("%d created, %d busy; want both", created, busy)
	}
}
