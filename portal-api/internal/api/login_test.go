package api_test

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

func login(email, password string, remember bool) apitest.Request {
	return post("/api/v1/auth/login", map[string]any{"email": email, "password": password, "remember_me": remember})
}

var wrongCredentials = apitest.ErrorDetail{Code: "unauthorized", Message: "The e-mail address or password is incorrect."}

func TestLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		t.Run("ok200", func(t *testing.T) {
			t.Parallel()
			c := h.NewClient()
			email := apitest.UniqueEmail("Login")
			u := c.Register(t, email)
			// Any case and surrounding spaces: e-mails compare case-insensitively.
			res := c.Do(t, login("  "+strings.ToUpper(email)+" ", apitest.DefaultPassword, false)).Want(t, http.StatusOK)
			var got apitest.TokenResponse
			res.JSON(t, &got)
			c.Token = got.AccessToken
			if got.TokenType != "Bearer" || got.ExpiresIn != 900 || got.User.ID != u.ID {
				t.Errorf("token response: %+v", got)
			}
			if res.Header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
			}
			// The access token: HS256 with the configured secret, 15 minutes,
			// carrying the user, the session and the role.
			claims := jwt.MapClaims{}
			tok, err := jwt.ParseWithClaims(got.AccessToken, claims, func(*jwt.Token) (any, error) { return []byte(apitest.JWTSecret), nil },
				jwt.WithTimeFunc(h.Clock.Now), jwt.WithValidMethods([]string{"HS256"}))
			if err != nil || !tok.Valid {
				t.Fatalf("access token: %v", err)
			}
			exp, _ := claims.GetExpirationTime()
			iat, _ := claims.GetIssuedAt()
			if claims["sub"] != strconv.FormatInt(u.ID, 10) || claims["role"] != "user" || claims["sid"] == "" || exp.Sub(iat.Time) != 15*time.Minute {
				t.Errorf("claims: %v", claims)
			}
			me := c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			var mine apitest.UserResponse
			me.JSON(t, &mine)
			if diff := cmp.Diff(u, mine.User); diff != "" {
				t.Errorf("GET /me (-registered +me):\n%s", diff)
			}
		})
		t.Run("wrongPassword401", func(t *testing.T) {
			t.Parallel()
			c := h.NewClient()
			email := apitest.UniqueEmail("wrong")
			c.Register(t, email)
			got := c.Do(t, login(email, "not-the-password", false)).Want(t, http.StatusUnauthorized).Error(t)
			if diff := cmp.Diff(wrongCredentials, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
		t.Run("unknownEmailAnsweredAlike", func(t *testing.T) {
			t.Parallel()
			res := h.NewClient().Do(t, login(apitest.UniqueEmail("nobody"), "whatever-password", false)).Want(t, http.StatusUnauthorized)
			if diff := cmp.Diff(wrongCredentials, res.Error(t)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if res.Cookie(apitest.RefreshCookie) != nil {
				t.Error("a failed login set a cookie")
			}
		})
		t.Run("login400", func(t *testing.T) {
			t.Parallel()
			for _, tc := range []struct {
				body  any
				field string
			}{
				{map[string]any{"password": "x"}, "email"},
				{map[string]any{"email": "  ", "password": "x"}, "email"},
				{map[string]any{"email": "a@b.c"}, "password"},
				{map[string]any{"email": "a@b.c", "password": "x", "remember_me": "yes"}, "remember_me"},
			} {
				e := h.NewClient().Do(t, post("/api/v1/auth/login", tc.body)).Want(t, http.StatusBadRequest).Error(t)
				if e.Code != "invalid" || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
					t.Errorf("%v: %+v", tc.body, e)
				}
			}
		})
		t.Run("seededAdminLogsInWithRole", func(t *testing.T) {
			t.Parallel()
			// The seed command hashes with the configured cost; do the same.
			hash, err := h.App.Accounts.HashPassword("admin-password-1234")
			if err != nil {
				t.Fatal(err)
			}
			email := apitest.UniqueEmail("admin")
			if _, err := h.App.Store.Seed(context.Background(), seedAdmin(email, hash)); err != nil {
				t.Fatal(err)
			}
			got := h.NewClient().Login(t, email, "admin-password-1234", false)
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(got.AccessToken, claims); err != nil || claims["role"] != "admin" || got.User.Role != "admin" {
				t.Errorf("admin token: %v %v %+v", err, claims, got.User)
			}
		})
	})
}

// TestLogin_UnknownEmailTakesAsLongAsWrongPassword: without the dummy
// bcrypt comparison an unknown e-mail would answer in well under a
// millisecond and tell an attacker which addresses are registered.
func TestLogin_UnknownEmailTakesAsLongAsWrongPassword(t *testing.T) {
	h := harness(t, testenv.SQLiteBackend, apitest.Options{Env: []string{"RESAYIL_BCRYPT_COST=8"}})
	c := h.NewClient()
	email := apitest.UniqueEmail("timing")
	c.Register(t, email)
	measure := func(email string) time.Duration {
		var ds []time.Duration
		for range 5 {
			cl := h.NewClient() // a fresh address each time: stay under the IP limit
			start := time.Now()
			cl.Do(t, login(email, "not-the-password", false)).Want(t, http.StatusUnauthorized)
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	c.Do(t, login(apitest.UniqueEmail("warm-up"), "not-the-password", false)) // makes the dummy hash
	wrong, unknown := measure(email), measure(apitest.UniqueEmail("unknown"))
	// Only the lower bound is checked: the leak is an unknown e-mail that
	// answers far faster (no bcrypt at all, well under a millisecond); a
	// two-core machine under load makes tighter bounds flaky.
	if unknown < wrong/4 {
		t.Errorf("median login time: wrong password %s, unknown e-mail %s; an unknown e-mail must cost a bcrypt comparison too", wrong, unknown)
	}
}
