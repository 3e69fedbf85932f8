package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

func validRegistration(email string) map[string]any {
	return map[string]any{"name": "Fatima Al-Sabah", "email": email, "phone": "+96512345678", "password": apitest.DefaultPassword}
}

func TestRegister(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		t.Run("create201", func(t *testing.T) {
			t.Parallel()
			email := apitest.UniqueEmail("Fatima")
			body := validRegistration(email)
			body["locale"] = "ar"
			res := h.NewClient().Do(t, post("/api/v1/auth/register", body)).Want(t, http.StatusCreated)
			var got apitest.UserResponse
			res.JSON(t, &got)
			want := apitest.User{Email: email, Phone: "+96512345678", Name: "Fatima Al-Sabah", Role: "user", Locale: "ar",
				CreatedAt: h.Clock.Now(), UpdatedAt: h.Clock.Now()}
			if diff := cmp.Diff(want, got.User, cmpopts.IgnoreFields(apitest.User{}, "ID", "AccountID"), cmpopts.EquateApproxTime(0)); diff != "" {
				t.Errorf("user (-want +got):\n%s", diff)
			}
			if got.User.ID == 0 || got.User.AccountID == 0 {
				t.Errorf("ids missing: %+v", got.User)
			}
			if strings.Contains(string(res.Body), "password") {
				t.Errorf("the response mentions the password: %s", res.Body)
			}
		})
		t.Run("localeDefaultsToEn", func(t *testing.T) {
			t.Parallel()
			u := h.NewClient().Register(t, apitest.UniqueEmail("default-locale"))
			if u.Locale != "en" {
				t.Errorf("locale %q, want en", u.Locale)
			}
		})
		t.Run("duplicate409CaseInsensitive", func(t *testing.T) {
			t.Parallel()
			email := apitest.UniqueEmail("dup")
			c := h.NewClient()
			c.Register(t, email)
			for _, again := range []string{email, strings.ToUpper(email), "  " + strings.ToUpper(email[:1]) + email[1:] + " "} {
				res := c.Do(t, post("/api/v1/auth/register", validRegistration(again))).Want(t, http.StatusConflict)
				if e := res.Error(t); e.Code != "conflict" {
					t.Errorf("%q: %+v", again, e)
				}
			}
		})
		t.Run("create400", func(t *testing.T) {
			t.Parallel()
			long := strings.Repeat("x", 101)
			cases := []struct {
				Name   string
				Change map[string]any
				Field  string
				Msg    string
			}{
				{"nameMissing", map[string]any{"name": nil}, "name", "This field is required."},
				{"nameBlank", map[string]any{"name": "   "}, "name", "This field is required."},
				{"nameTooLong", map[string]any{"name": long}, "name", "Must be at most 100 characters."},
				{"emailMissing", map[string]any{"email": nil}, "email", "This field is required."},
				{"emailInvalid", map[string]any{"email": "not-an-email"}, "email", "Must be a valid e-mail address."},
				{"phoneMissing", map[string]any{"phone": nil}, "phone", "This field is required."},
				{"phoneNotE164", map[string]any{"phone": "96512345678"}, "phone", "Must be a phone number in international format, such as +96512345678."},
				{"phoneSpaces", map[string]any{"phone": "+965 1234 5678"}, "phone", "Must be a phone number in international format, such as +96512345678."},
				{"phoneImpossible", map[string]any{"phone": "+9651234"}, "phone", "Must be a phone number in international format, such as +96512345678."},
				{"passwordMissing", map[string]any{"password": nil}, "password", "This field is required."},
				{"passwordShort", map[string]any{"password": "Abc12345!"}, "password", "Must be at least 10 characters."},
				{"passwordCommon", map[string]any{"password": "password123"}, "password", "This password is too common; choose one that is harder to guess."},
				{"passwordCommonAnyCase", map[string]any{"password": "QwertyUIOP"}, "password", "This password is too common; choose one that is harder to guess."},
				{"passwordTooLong", map[string]any{"password": strings.Repeat("ü", 40)}, "password", "Must be at most 72 bytes."},
				{"localeUnknown", map[string]any{"locale": "fr"}, "locale", "Must be one of: ar, en."},
				{"nameWrongType", map[string]any{"name": 42}, "name", "Must be a string."},
			}
			for _, tc := range cases {
				t.Run(tc.Name, func(t *testing.T) {
					body := validRegistration(apitest.UniqueEmail(tc.Name))
					for k, v := range tc.Change {
						if v == nil {
							delete(body, k)
						} else {
							body[k] = v
						}
					}
					got := h.NewClient().Do(t, post("/api/v1/auth/register", body)).Want(t, http.StatusBadRequest).Error(t)
					want := apitest.ErrorDetail{Code: "invalid", Message: tc.Msg, Fields: []apitest.FieldError{{Field: tc.Field, Message: tc.Msg}}}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("error (-want +got):\n%s", diff)
					}
				})
			}
		})
		t.Run("everyBadFieldOnce", func(t *testing.T) {
			t.Parallel()
			got := h.NewClient().Do(t, post("/api/v1/auth/register", map[string]any{"email": "x", "phone": "1", "password": "short", "locale": "de"})).
				Want(t, http.StatusBadRequest).Error(t)
			var fields []string
			for _, f := range got.Fields {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff([]string{"name", "email", "phone", "password", "locale"}, fields); diff != "" || got.Message != "The request is invalid." {
				t.Errorf("fields (-want +got):\n%s\n%+v", diff, got)
			}
		})
		t.Run("malformedBody", func(t *testing.T) {
			t.Parallel()
			for _, body := range []string{"", "{", "[]", `{"name":"a"} {}`, "null"} {
				e := h.NewClient().Do(t, post("/api/v1/auth/register", body)).Want(t, http.StatusBadRequest).Error(t)
				if e.Code != "invalid" {
					t.Errorf("%q: %+v", body, e)
				}
			}
		})
	})
}
