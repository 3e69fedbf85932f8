package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

func patchMe(body any) apitest.Request {
	return apitest.Request{Method: "PATCH", Path: "/api/v1/me", Body: body}
}

func changePassword(current, next string) apitest.Request {
	return post("/api/v1/me/password", map[string]any{"current_password": current, "new_password": next})
}

func TestMe(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		t.Run("get200", func(t *testing.T) {
			t.Parallel()
			c, u := h.SignUp(t, "me")
			var got apitest.UserResponse
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK).JSON(t, &got)
			if diff := cmp.Diff(u, got.User); diff != "" {
				t.Errorf("(-registered +me):\n%s", diff)
			}
		})
		t.Run("patch200", func(t *testing.T) {
			t.Parallel()
			c, u := h.SignUp(t, "patch")
			var got apitest.UserResponse
			c.Do(t, patchMe(map[string]any{"name": "  Noor  ", "locale": "ar"})).Want(t, http.StatusOK).JSON(t, &got)
			want := u
			want.Name, want.Locale = "Noor", "ar"
			want.UpdatedAt = got.User.UpdatedAt
			if diff := cmp.Diff(want, got.User); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			c.Do(t, patchMe(map[string]any{"phone": "+14155550123", "name": nil})).Want(t, http.StatusOK).JSON(t, &got)
			if got.User.Phone != "+14155550123" || got.User.Name != "Noor" || got.User.Locale != "ar" {
				t.Errorf("after the second patch: %+v", got.User)
			}
			c.Do(t, patchMe(map[string]any{})).Want(t, http.StatusOK)
			var me apitest.UserResponse
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK).JSON(t, &me)
			if me.User.Phone != "+14155550123" || me.User.Name != "Noor" {
				t.Errorf("not stored: %+v", me.User)
			}
		})
		t.Run("patch400", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "patch400")
			for _, tc := range []struct {
				body  map[string]any
				field string
				msg   string
			}{
				{map[string]any{"name": ""}, "name", "This field is required."},
				{map[string]any{"name": "   "}, "name", "This field is required."},
				{map[string]any{"name": strings.Repeat("ن", 101)}, "name", "Must be at most 100 characters."},
				{map[string]any{"phone": "12345"}, "phone", "Must be a phone number in international format, such as +96512345678."},
				{map[string]any{"locale": "de"}, "locale", "Must be one of: ar, en."},
				{map[string]any{"locale": 1}, "locale", "Must be a string."},
			} {
				got := c.Do(t, patchMe(tc.body)).Want(t, http.StatusBadRequest).Error(t)
				want := apitest.ErrorDetail{Code: "invalid", Message: tc.msg, Fields: []apitest.FieldError{{Field: tc.field, Message: tc.msg}}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("%v (-want +got):\n%s", tc.body, diff)
				}
			}
		})
		t.Run("passwordChangeEndsOtherSessions", func(t *testing.T) {
			t.Parallel()
			a, _ := h.SignUp(t, "pw")
			b := h.NewClient()
			b.Login(t, a.Email, apitest.DefaultPassword, true)
			const next = "violet-harbor-engine-7"
			a.Do(t, changePassword(apitest.DefaultPassword, next)).Want(t, http.StatusNoContent)
			a.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			a.Do(t, refresh()).Want(t, http.StatusOK)
			b.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized)
			b.Do(t, refresh()).Want(t, http.StatusUnauthorized)
			h.NewClient().Do(t, login(a.Email, apitest.DefaultPassword, false)).Want(t, http.StatusUnauthorized)
			h.NewClient().Login(t, a.Email, next, false)
		})
		t.Run("password400", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "pw400")
			for _, tc := range []struct {
				req   apitest.Request
				field string
				msg   string
			}{
				{changePassword("wrong-current-pw", "violet-harbor-engine-7"), "current_password", "The current password is incorrect."},
				{changePassword(apitest.DefaultPassword, "short"), "new_password", "Must be at least 10 characters."},
				{changePassword(apitest.DefaultPassword, "iloveyou123"), "new_password", "This password is too common; choose one that is harder to guess."},
				{changePassword(apitest.DefaultPassword, apitest.DefaultPassword), "new_password", "Must differ from the current password."},
				{post("/api/v1/me/password", map[string]any{"new_password": "violet-harbor-engine-7"}), "current_password", "This field is required."},
				{post("/api/v1/me/password", map[string]any{"current_password": apitest.DefaultPassword}), "new_password", "This field is required."},
			} {
				got := c.Do(t, tc.req).Want(t, http.StatusBadRequest).Error(t)
				want := apitest.ErrorDetail{Code: "invalid", Message: tc.msg, Fields: []apitest.FieldError{{Field: tc.field, Message: tc.msg}}}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
			// The password did not change.
			h.NewClient().Login(t, c.Email, apitest.DefaultPassword, false)
		})
	})
}

func TestChangePassword_WrongCurrentIsThrottled(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		h := newHarness(t)
		c, _ := h.SignUp(t, "stolen-token")
		for range 5 {
			c.IP = apitest.RandomIP()
			c.Do(t, changePassword("guess-guess-guess", "violet-harbor-engine-7")).Want(t, http.StatusBadRequest)
		}
		retryAfter(t, c.Do(t, changePassword(apitest.DefaultPassword, "violet-harbor-engine-7")).Want(t, http.StatusTooManyRequests))
		h.Clock.Advance(15 * time.Minute)
		var tok apitest.TokenResponse
		c.Do(t, refresh()).Want(t, http.StatusOK).JSON(t, &tok)
		c.Token = tok.AccessToken
		c.Do(t, changePassword(apitest.DefaultPassword, "violet-harbor-engine-7")).Want(t, http.StatusNoContent)
	})
}
