package api_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"regexp"
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
	resetPassword  = "violet-harbor-lantern-7"
	msgInvalidCode = "The code is invalid or has expired. Request a new one."
)

// resetHarness is a portal-api of the test's own (the tests move its clock
// and count its rows) that answers reset requests at once; env may set
// the reset limits.
func resetHarness(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness, env ...string) *apitest.Harness {
	t.Helper()
	return newHarness(t, apitest.Options{Env: append([]string{"RESAYIL_PASSWORD_RESET_ANSWER_TIME=0s"}, env...)})
}

// uniquePhone returns a Kuwaiti mobile number no other test uses
// (apitest's Register gives every user the same one).
func uniquePhone() string {
	n, err := rand.Int(rand.Reader, big.NewInt(10_000_000))
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("+9655%07d", n.Int64())
}

// resetUser is a registered user with a phone number of their own, logged
// in (with remember-me, so the refresh cookie persists).
type resetUser struct {
	c            *apitest.Client
	u            apitest.User
	email, phone string
}

func (r resetUser) byEmail() map[string]any { return map[string]any{"email": r.email} }
func (r resetUser) byPhone() map[string]any { return map[string]any{"phone": r.phone} }

func signUpForReset(t *testing.T, h *apitest.Harness, name string) resetUser {
	t.Helper()
	c := h.NewClient()
	email, phone := apitest.UniqueEmail(name), uniquePhone()
	res := c.Do(t, post("/api/v1/auth/register", map[string]any{
		"name": "Reset User", "email": email, "phone": phone, "password": apitest.DefaultPassword, "locale": "ar",
	})).Want(t, http.StatusCreated)
	var out apitest.UserResponse
	res.JSON(t, &out)
	c.Login(t, email, apitest.DefaultPassword, true)
	return resetUser{c: c, u: out.User, email: email, phone: phone}
}

func requestReset(by map[string]any) apitest.Request {
	return post("/api/v1/auth/password-reset/request", by)
}

func confirmReset(by map[string]any, code, password string) apitest.Request {
	body := maps.Clone(by)
	body["code"], body["new_password"] = code, password
	return post("/api/v1/auth/password-reset/confirm", body)
}

// acceptedBody is the one answer to a reset request.
const acceptedBody = `{"message":"If the e-mail address or phone number belongs to an account, a 6-digit code was sent to its WhatsApp number. It is valid for 10 minutes."}`

func wantAccepted(t *testing.T, res *apitest.Response) {
	t.Helper()
	res.Want(t, http.StatusAccepted)
	if string(res.Body) != acceptedBody {
		t.Errorf("202 body %s, want %s", res.Body, acceptedBody)
	}
}

func wantInvalidCode(t *testing.T, res *apitest.Response) {
	t.Helper()
	wantFieldError(t, res, "code", msgInvalidCode)
}

// resetOutboxRow is a password_reset_code row of the notifications outbox.
type resetOutboxRow struct {
	ID        int64
	DedupeKey string
	Event     string
	Audience  string
	AccountID *int64
	UserID    *int64
	Locale    string
	Payload   string
	Status    string
}

func resetOutbox(t *testing.T, h *apitest.Harness) []resetOutboxRow {
	t.Helper()
	var rows []resetOutboxRow
	if err := h.DB.Gorm.Raw(`SELECT id, dedupe_key, event, audience, account_id, user_id, locale, payload, status
		FROM notifications WHERE event = ? ORDER BY id`, account.EventPasswordResetCode).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

// codeOf reads the code from an outbox row, whose payload must be exactly
// {"params":[code]}.
func codeOf(t *testing.T, row resetOutboxRow) string {
	t.Helper()
	var p map[string][]string
	if err := json.Unmarshal([]byte(row.Payload), &p); err != nil || len(p) != 1 || len(p["params"]) != 1 || !sixDigits.MatchString(p["params"][0]) {
		t.Fatalf("outbox payload %s, want {\"params\":[six digits]} (%v)", row.Payload, err)
	}
	return p["params"][0]
}

// lastCode is the code of the newest outbox row.
func lastCode(t *testing.T, h *apitest.Harness) string {
	t.Helper()
	rows := resetOutbox(t, h)
	if len(rows) == 0 {
		t.Fatal("no password_reset_code row in the outbox")
	}
	return codeOf(t, rows[len(rows)-1])
}

// otherCode is a well-formed code that is not code.
func otherCode(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

type resetRow struct {
	ID        int64
	UserID    int64
	CodeHash  string
	Attempts  int
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

func resetRows(t *testing.T, h *apitest.Harness) []resetRow {
	t.Helper()
	var rows []resetRow
	if err := h.DB.Gorm.Raw(`SELECT id, user_id, code_hash, attempts, expires_at, used_at, created_at FROM password_resets ORDER BY id`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestPasswordReset_Flow(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		for _, tc := range []struct {
			name string
			by   func(resetUser) map[string]any
			// typed is the code as the person types it.
			typed func(code string) string
		}{
			{"byEmail", func(r resetUser) map[string]any {
				return map[string]any{"email": "  " + strings.ToUpper(r.email) + " "}
			}, func(c string) string { return c }},
			{"byPhoneInArabicDigits", resetUser.byPhone, func(c string) string { return " " + arabicIndic(c) + " " }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				h := resetHarness(t, newHarness)
				r := signUpForReset(t, h, "flow")
				elsewhere := h.NewClient()
				elsewhere.Login(t, r.email, apitest.DefaultPassword, true)
				requestedAt := h.Clock.Now()

				wantAccepted(t, h.NewClient().Do(t, requestReset(tc.by(r))))

				// One outbox row for the user, carrying the code, in the user's language.
				rows := resetOutbox(t, h)
				if len(rows) != 1 {
					t.Fatalf("outbox: %+v", rows)
				}
				got := rows[0]
				code := codeOf(t, got)
				resets := resetRows(t, h)
				if len(resets) != 1 {
					t.Fatalf("password_resets: %+v", resets)
				}
				want := resetOutboxRow{ID: got.ID, DedupeKey: fmt.Sprintf("password_reset_code:%d", resets[0].ID), Event: "password_reset_code",
					Audience: "user", AccountID: &r.u.AccountID, UserID: &r.u.ID, Locale: "ar", Payload: got.Payload, Status: "pending"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("outbox row (-want +got):\n%s", diff)
				}
				// Only a keyed hash of the code is stored, valid ten minutes.
				s := resets[0]
				if s.UserID != r.u.ID || s.Attempts != 0 || s.UsedAt != nil || !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(s.CodeHash) ||
					strings.Contains(s.CodeHash, code) || !s.ExpiresAt.Equal(s.CreatedAt.Add(10*time.Minute)) || s.CreatedAt.Sub(requestedAt).Abs() > time.Microsecond {
					t.Errorf("password_resets row %+v (code %s, requested at %s)", s, code, requestedAt)
				}

				h.NewClient().Do(t, confirmReset(tc.by(r), tc.typed(code), resetPassword)).Want(t, http.StatusNoContent)

				// Every session has ended: access tokens and refresh cookies alike.
				for _, c := range []*apitest.Client{r.c, elsewhere} {
					c.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized)
					c.Do(t, refresh()).Want(t, http.StatusUnauthorized)
				}
				var ended int64
				h.DB.Gorm.Raw(`SELECT COUNT(*) FROM sessions WHERE user_id = ? AND revoke_reason = ?`, r.u.ID, "password_reset").Scan(&ended)
				if ended != 2 {
					t.Errorf("%d sessions ended by the reset, want 2", ended)
				}
				h.NewClient().Do(t, login(r.email, apitest.DefaultPassword, false)).Want(t, http.StatusUnauthorized)
				fresh := h.NewClient()
				fresh.Login(t, r.email, resetPassword, false)
				fresh.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)

				// Single use: the same code again is refused, and changes nothing.
				wantInvalidCode(t, h.NewClient().Do(t, confirmReset(tc.by(r), code, "another-fine-password-9")))
				h.NewClient().Login(t, r.email, resetPassword, false)
				if s := resetRows(t, h)[0]; s.UsedAt == nil || !s.UsedAt.Equal(s.CreatedAt) {
					t.Errorf("the used code's row: %+v", s)
				}
			})
		}
	})
}

// arabicIndic writes ASCII digits as Arabic-Indic ones (٠-٩).
func arabicIndic(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '\u0660' + (r - '0')
		}
		return r
	}, s)
}

func TestPasswordReset_Tries(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		t.Run("fiveWrongEndTheCode", func(t *testing.T) {
			t.Parallel()
			h := resetHarness(t, newHarness)
			var (
				mu       sync.Mutex
				failures []account.ResetFailure
			)
			h.App.Resets.OnBadCode = func(_ context.Context, f account.ResetFailure) {
				mu.Lock()
				defer mu.Unlock()
				failures = append(failures, f)
			}
			r := signUpForReset(t, h, "tries")
			wantAccepted(t, h.NewClient().Do(t, requestReset(r.byEmail())))
			code := lastCode(t, h)
			guesser := h.NewClient()
			for range 5 {
				wantInvalidCode(t, guesser.Do(t, confirmReset(r.byEmail(), otherCode(code), resetPassword)))
			}
			// Ended: even the right code, from anywhere, no longer works.
			owner := h.NewClient()
			wantInvalidCode(t, owner.Do(t, confirmReset(r.byEmail(), code, resetPassword)))
			h.NewClient().Login(t, r.email, apitest.DefaultPassword, false)

			// Each refusal is an authentication failure of the client's address.
			mu.Lock()
			defer mu.Unlock()
			want := []account.ResetFailure{}
			for range 5 {
				want = append(want, account.ResetFailure{IP: guesser.IP, Reason: "wrong_code"})
			}
			want = append(want, account.ResetFailure{IP: owner.IP, Reason: "ended"})
			if diff := cmp.Diff(want, failures); diff != "" {
				t.Errorf("failures reported (-want +got):\n%s", diff)
			}
		})
		t.Run("fourWrongThenRight", func(t *testing.T) {
			t.Parallel()
			h := resetHarness(t, newHarness)
			r := signUpForReset(t, h, "tries")
			wantAccepted(t, h.NewClient().Do(t, requestReset(r.byPhone())))
			code := lastCode(t, h)
			for range 4 {
				wantInvalidCode(t, h.NewClient().Do(t, confirmReset(r.byPhone(), otherCode(code), resetPassword)))
			}
			h.NewClient().Do(t, confirmReset(r.byPhone(), code, resetPassword)).Want(t, http.StatusNoContent)
			h.NewClient().Login(t, r.email, resetPassword, false)
		})
		t.Run("parallelGuessesGetFiveTries", func(t *testing.T) {
			t.Parallel()
			h := resetHarness(t, newHarness)
			r := signUpForReset(t, h, "parallel")
			wantAccepted(t, h.NewClient().Do(t, requestReset(r.byEmail())))
			code := lastCode(t, h)
			var (
				wg   sync.WaitGroup
				errs goErrs
				mu   sync.Mutex
				got  = map[int]int{}
			)
			for range 20 {
				c := h.NewClient()
				wg.Go(func() {
					st := errs.status(c.Try(confirmReset(r.byEmail(), otherCode(code), resetPassword)))
					mu.Lock()
					got[st]++
					mu.Unlock()
				})
			}
			wg.Wait()
			errs.report(t)
			if got[http.StatusBadRequest] != 20 {
				t.Errorf("statuses %v, want 20 × 400", got)
			}
			if s := resetRows(t, h)[0]; s.Attempts != 5 {
				t.Errorf("%d tries counted, want 5", s.Attempts)
			}
			wantInvalidCode(t, h.NewClient().Do(t, confirmReset(r.byEmail(), code, resetPassword)))
		})
		t.Run("parallelRightCodeWorksOnce", func(t *testing.T) {
			t.Parallel()
			h := resetHarness(t, newHarness)
			r := signUpForReset(t, h, "once")
			wantAccepted(t, h.NewClient().Do(t, requestReset(r.byEmail())))
			code := lastCode(t, h)
			var (
				wg     sync.WaitGroup
				errs   goErrs
				mu     sync.Mutex
				winner []string
				others = map[int]int{}
			)
			for i := range 8 {
				c := h.NewClient()
				password := fmt.Sprintf("%s-%d", resetPassword, i)
				wg.Go(func() {
					st := errs.status(c.Try(confirmReset(r.byEmail(), code, password)))
					mu.Lock()
					defer mu.Unlock()
					if st == http.StatusNoContent {
						winner = append(winner, password)
					} else {
						others[st]++
					}
				})
			}
			wg.Wait()
			errs.report(t)
			if len(winner) != 1 || others[http.StatusBadRequest] != 7 {
				t.Fatalf("winners %v, other statuses %v; want one 204 and seven 400", winner, others)
			}
			h.NewClient().Login(t, r.email, winner[0], false)
		})
	})
}

func TestPasswordReset_Expiry(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		h := resetHarness(t, newHarness)
		r := signUpForReset(t, h, "expiry")
		// Ten minutes on, the code has expired.
		wantAccepted(t, h.NewClient().Do(t, requestReset(r.byEmail())))
		code := lastCode(t, h)
		h.Clock.Advance(10 * time.Minute)
		wantInvalidCode(t, h.NewClient().Do(t, confirmReset(r.byEmail(), code, resetPassword)))
		// A microsecond before, it still works.
		wantAccepted(t, h.NewClient().Do(t, requestReset(r.byEmail())))
		code = lastCode(t, h)
		h.Clock.Advance(10*time.Minute - time.Microsecond)
		h.NewClient().Do(t, confirmReset(r.byEmail(), code, resetPassword)).Want(t, http.StatusNoContent)
		h.NewClient().Login(t, r.email, resetPassword, false)
	})
}

func TestPasswordReset_NewerRequestSupersedes(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		h := resetHarness(t, newHarness)
		r := signUpForReset(t, h, "newer")
		wantAccepted(t, h.NewClient().Do(t, requestReset(r.byEmail())))
		first := lastCode(t, h)
		h.Clock.Advance(time.Minute)
		// By the phone: either identifier reaches the same user's codes.
		wantAccepted(t, h.NewClient().Do(t, requestReset(r.byPhone())))
		second := lastCode(t, h)
		if first == second {
			// One chance in a million: the test would prove nothing.
			t.Skipf("both requests drew the code %s", first)
		}
		rows := resetOutbox(t, h)
		if len(rows) != 2 || rows[0].DedupeKey == rows[1].DedupeKey {
			t.Fatalf("outbox: %+v", rows)
		}
		resets := resetRows(t, h)
		if len(resets) != 2 || resets[0].UsedAt == nil || !resets[0].UsedAt.Equal(resets[1].CreatedAt) || resets[1].UsedAt != nil {
			t.Fatalf("password_resets: %+v", resets)
		}
		wantInvalidCode(t, h.NewClient().Do(t, confirmReset(r.byEmail(), first, resetPassword)))
		h.NewClient().Do(t, confirmReset(r.byEmail(), second, resetPassword)).Want(t, http.StatusNoContent)
		h.NewClient().Login(t, r.email, resetPassword, false)
	})
}

// TestPasswordReset_NoEnumeration: whatever the identifier names (an
// account, nothing, a phone several users share, a disabled user), the
// answer is the same, and only the one real account gets a code.
func TestPasswordReset_NoEnumeration(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		h := resetHarness(t, newHarness)
		r := signUpForReset(t, h, "real")
		disabled := signUpForReset(t, h, "disabled")
		if err := h.DB.Gorm.Exec("UPDATE users SET disabled_at = ? WHERE id = ?", h.Clock.Now(), disabled.u.ID).Error; err != nil {
			t.Fatal(err)
		}
		shared := uniquePhone()
		for _, name := range []string{"shareA", "shareB"} {
			h.NewClient().Do(t, post("/api/v1/auth/register", map[string]any{
				"name": name, "email": apitest.UniqueEmail(name), "phone": shared, "password": apitest.DefaultPassword,
			})).Want(t, http.StatusCreated)
		}

		known := h.NewClient().Do(t, requestReset(r.byEmail()))
		wantAccepted(t, known)
		for _, by := range []map[string]any{
			{"email": apitest.UniqueEmail("nobody")},
			{"phone": uniquePhone()},
			{"phone": shared},
			disabled.byEmail(),
			disabled.byPhone(),
		} {
			res := h.NewClient().Do(t, requestReset(by))
			if res.Status != known.Status || string(res.Body) != string(known.Body) || res.Header.Get("Content-Type") != known.Header.Get("Content-Type") {
				t.Errorf("%v: %d %s %q, but an existing account got %d %s %q", by, res.Status, res.Body, res.Header.Get("Content-Type"),
					known.Status, known.Body, known.Header.Get("Content-Type"))
			}
		}
		rows := resetOutbox(t, h)
		if len(rows) != 1 || *rows[0].UserID != r.u.ID {
			t.Fatalf("outbox rows %+v, want only the real account's", rows)
		}
		if resets := resetRows(t, h); len(resets) != 1 || resets[0].UserID != r.u.ID {
			t.Fatalf("password_resets %+v, want only the real account's", resets)
		}

		// A confirmation for no account is refused as a wrong code is.
		wrong := h.NewClient().Do(t, confirmReset(r.byEmail(), otherCode(codeOf(t, rows[0])), resetPassword))
		wantInvalidCode(t, wrong)
		for _, by := range []map[string]any{{"email": apitest.UniqueEmail("nobody")}, {"phone": shared}, disabled.byPhone()} {
			res := h.NewClient().Do(t, confirmReset(by, "123456", resetPassword))
			if res.Status != wrong.Status || string(res.Body) != string(wrong.Body) {
				t.Errorf("confirm %v: %d %s, a wrong code: %d %s", by, res.Status, res.Body, wrong.Status, wrong.Body)
			}
		}
	})
}

func TestPasswordReset_RateLimits(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		t.Run("perIdentifier", func(t *testing.T) {
			t.Parallel()
			h := resetHarness(t, newHarness)
			r := signUpForReset(t, h, "limited")
			nobody := map[string]any{"email": apitest.UniqueEmail("nobody")}
			// Three an hour for an e-mail, from any address; an unknown one alike.
			for _, by := range []map[string]any{r.byEmail(), nobody} {
				for range 3 {
					wantAccepted(t, h.NewClient().Do(t, requestReset(by)))
				}
			}
			wait := retryAfterWithin(t, h.NewClient().Do(t, requestReset(r.byEmail())).Want(t, http.StatusTooManyRequests), time.Hour)
			retryAfterWithin(t, h.NewClient().Do(t, requestReset(nobody)).Want(t, http.StatusTooManyRequests), time.Hour)
			if wait < 15*time.Minute {
				t.Errorf("Retry-After %s: one more request every 20 minutes", wait)
			}
			if n := len(resetOutbox(t, h)); n != 3 {
				t.Errorf("%d codes sent, want 3", n)
			}
			// The phone is another identifier.
			wantAccepted(t, h.NewClient().Do(t, requestReset(r.byPhone())))
			h.Clock.Advance(wait)
			wantAccepted(t, h.NewClient().Do(t, requestReset(r.byEmail())))
		})
		t.Run("perIP", func(t *testing.T) {
			t.Parallel()
			h := resetHarness(t, newHarness)
			sprayer := h.NewClient()
			for range 10 {
				wantAccepted(t, sprayer.Do(t, requestReset(map[string]any{"email": apitest.UniqueEmail("spray")})))
			}
			wait := retryAfterWithin(t, sprayer.Do(t, requestReset(map[string]any{"phone": uniquePhone()})).Want(t, http.StatusTooManyRequests), time.Hour)
			wantAccepted(t, h.NewClient().Do(t, requestReset(map[string]any{"email": apitest.UniqueEmail("spray")})))
			h.Clock.Advance(wait)
			wantAccepted(t, sprayer.Do(t, requestReset(map[string]any{"email": apitest.UniqueEmail("spray")})))
		})
		t.Run("confirmPerIP", func(t *testing.T) {
			t.Parallel()
			h := resetHarness(t, newHarness, "RESAYIL_PASSWORD_RESET_CONFIRM_IP_LIMIT=3")
			r := signUpForReset(t, h, "confirm")
			wantAccepted(t, h.NewClient().Do(t, requestReset(r.byEmail())))
			code := lastCode(t, h)
			guesser := h.NewClient()
			for range 3 {
				wantInvalidCode(t, guesser.Do(t, confirmReset(map[string]any{"email": apitest.UniqueEmail("nobody")}, code, resetPassword)))
			}
			// Refused before the code is looked at: the right one waits too,
			// and uses up no try.
			retryAfterWithin(t, guesser.Do(t, confirmReset(r.byEmail(), code, resetPassword)).Want(t, http.StatusTooManyRequests), time.Hour)
			if s := resetRows(t, h)[0]; s.Attempts != 0 {
				t.Errorf("%d tries counted, want 0", s.Attempts)
			}
			h.NewClient().Do(t, confirmReset(r.byEmail(), code, resetPassword)).Want(t, http.StatusNoContent)
		})
	})
}

func TestPasswordReset_Validation(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		const (
			missing = "Give your e-mail address or your phone number."
			both    = "Give your e-mail address or your phone number, not both."
			badMail = "Must be a valid e-mail address."
			badCode = "Must be the 6-digit code sent to you on WhatsApp."
		)
		email := apitest.UniqueEmail("valid")
		for _, tc := range []struct {
			req  apitest.Request
			want []apitest.FieldError
		}{
			{requestReset(map[string]any{}), []apitest.FieldError{{Field: "email", Message: missing}, {Field: "phone", Message: missing}}},
			{requestReset(map[string]any{"email": email, "phone": "+96512345678"}), []apitest.FieldError{{Field: "phone", Message: both}}},
			{requestReset(map[string]any{"email": "not-an-address"}), []apitest.FieldError{{Field: "email", Message: badMail}}},
			{requestReset(map[string]any{"email": ""}), []apitest.FieldError{{Field: "email", Message: "This field is required."}}},
			{requestReset(map[string]any{"email": "kate@b\u00fccher.de"}), []apitest.FieldError{{Field: "email", Message: "Must contain only ASCII letters, digits and symbols; internationalised addresses are not accepted."}}},
			{requestReset(map[string]any{"email": "kate\u202e@example.com"}), []apitest.FieldError{{Field: "email", Message: msgControl}}},
			{requestReset(map[string]any{"email": 5}), []apitest.FieldError{{Field: "email", Message: "Must be a string."}}},
			{requestReset(map[string]any{"phone": "12345"}), []apitest.FieldError{{Field: "phone", Message: "Must be a phone number in international format, such as +96512345678."}}},

			{confirmReset(map[string]any{"email": email}, "12345", resetPassword), []apitest.FieldError{{Field: "code", Message: badCode}}},
			{confirmReset(map[string]any{"email": email}, "12a456", resetPassword), []apitest.FieldError{{Field: "code", Message: badCode}}},
			{confirmReset(map[string]any{"email": email}, "", resetPassword), []apitest.FieldError{{Field: "code", Message: "This field is required."}}},
			{confirmReset(map[string]any{"email": email}, "123456", "short"), []apitest.FieldError{{Field: "new_password", Message: "Must be at least 10 characters."}}},
			{confirmReset(map[string]any{"email": email}, "123456", ""), []apitest.FieldError{{Field: "new_password", Message: "This field is required."}}},
			{confirmReset(map[string]any{"email": email}, "123456", "password123"), []apitest.FieldError{{Field: "new_password", Message: "This password is too common; choose one that is harder to guess."}}},
			// The identifier given is checked at once: it is no secret.
			{confirmReset(map[string]any{"email": email}, "123456", email), []apitest.FieldError{{Field: "new_password", Message: msgPersonal}}},
			{confirmReset(map[string]any{}, "123456", resetPassword), []apitest.FieldError{{Field: "email", Message: missing}, {Field: "phone", Message: missing}}},
			{confirmReset(map[string]any{"email": "bad", "phone": "+96512345678"}, "1", "short"), []apitest.FieldError{
				{Field: "phone", Message: both}, {Field: "code", Message: badCode}, {Field: "new_password", Message: "Must be at least 10 characters."}}},
		} {
			got := h.NewClient().Do(t, tc.req).Want(t, http.StatusBadRequest).Error(t)
			want := apitest.ErrorDetail{Code: "invalid", Message: "The request is invalid.", Fields: tc.want}
			if len(tc.want) == 1 {
				want.Message = tc.want[0].Message
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %v (-want +got):\n%s", tc.req.Path, tc.req.Body, diff)
			}
		}
		// Malformed input sends nothing.
		if rows := resetOutbox(t, h); len(rows) != 0 {
			t.Errorf("outbox: %+v", rows)
		}
	})
}

// TestPasswordReset_PersonalPasswordOnceTheCodeIsRight: the user's name
// is checked only once the code is right, and the code then stays usable.
func TestPasswordReset_PersonalPasswordOnceTheCodeIsRight(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		h := resetHarness(t, newHarness)
		r := signUpForReset(t, h, "personal")
		wantAccepted(t, h.NewClient().Do(t, requestReset(r.byEmail())))
		code := lastCode(t, h)
		// By e-mail, the phone number and the name are not in the request:
		// with a wrong code they are not checked (the answer would tell
		// that the account exists)…
		wantInvalidCode(t, h.NewClient().Do(t, confirmReset(r.byEmail(), otherCode(code), r.phone)))
		// …and with the right one they are, and the code stays usable.
		wantFieldError(t, h.NewClient().Do(t, confirmReset(r.byEmail(), code, r.phone)), "new_password", msgPersonal)
		wantFieldError(t, h.NewClient().Do(t, confirmReset(r.byEmail(), code, "Reset User")), "new_password", msgPersonal)
		h.NewClient().Do(t, confirmReset(r.byEmail(), code, resetPassword)).Want(t, http.StatusNoContent)
	})
}

// TestPasswordReset_AnswerTime: a request for no account, and a refused
// code, take as long to answer as a request that writes a code.
func TestPasswordReset_AnswerTime(t *testing.T) {
	const answer = 150 * time.Millisecond
	h := harness(t, testenv.SQLiteBackend, apitest.Options{Env: []string{
		"RESAYIL_PASSWORD_RESET_ANSWER_TIME=" + answer.String(), "RESAYIL_PASSWORD_RESET_LIMIT=100", "RESAYIL_PASSWORD_RESET_IP_LIMIT=100",
	}})
	r := signUpForReset(t, h, "timing")
	timed := func(req apitest.Request, status int) time.Duration {
		start := time.Now()
		h.NewClient().Do(t, req).Want(t, status)
		return time.Since(start)
	}
	for range 3 {
		for _, tc := range []struct {
			name   string
			req    apitest.Request
			status int
		}{
			{"a request for an account", requestReset(r.byEmail()), http.StatusAccepted},
			{"a request for no account", requestReset(map[string]any{"email": apitest.UniqueEmail("nobody")}), http.StatusAccepted},
			{"a wrong code", confirmReset(r.byEmail(), "000000", resetPassword), http.StatusBadRequest},
			{"a code for no account", confirmReset(map[string]any{"email": apitest.UniqueEmail("nobody")}, "000000", resetPassword), http.StatusBadRequest},
		} {
			if d := timed(tc.req, tc.status); d < answer {
				t.Errorf("%s answered in %s, before the answer time %s", tc.name, d, answer)
			}
		}
	}
}
