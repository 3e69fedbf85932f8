package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

func refresh() apitest.Request { return post("/api/v1/auth/refresh", nil) }

func TestRefresh(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		t.Run("rotates", func(t *testing.T) {
			t.Parallel()
			c, u := h.SignUp(t, "rotate")
			first, firstToken := c.Refresh.Value, c.Token
			res := c.Do(t, refresh()).Want(t, http.StatusOK)
			var got apitest.TokenResponse
			res.JSON(t, &got)
			if got.User.ID != u.ID || got.AccessToken == "" || got.TokenType != "Bearer" {
				t.Fatalf("refresh: %+v", got)
			}
			if c.Refresh == nil || c.Refresh.Value == first {
				t.Fatalf("the refresh cookie was not rotated: %v", c.Refresh)
			}
			c.Token = got.AccessToken
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			// The access token from before the refresh stays valid: same session.
			c.Do(t, apitest.Request{Method: "GET", Path: "/api/v1/me", Token: firstToken}).Want(t, http.StatusOK)
			// The new refresh token works once more.
			c.Do(t, refresh()).Want(t, http.StatusOK)
		})
		t.Run("noOrUnknownCookie401", func(t *testing.T) {
			t.Parallel()
			h.NewClient().Do(t, refresh()).Want(t, http.StatusUnauthorized)
			h.NewClient().Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh",
				Cookies: []*http.Cookie{{Name: apitest.RefreshCookie, Value: "made-up"}}}).Want(t, http.StatusUnauthorized)
		})
	})
}

// TestRefreshGrace: every browser tab renews through the one refresh
// cookie, so a token just rotated may come back from a second tab. Within
// account.RefreshGrace of its rotation it gets a new access token for the
// same session, rotating nothing and revoking nothing; from the end of the
// window on it is reuse and ends the session. Each subtest has a
// portal-api (and a clock) of its own.
func TestRefreshGrace(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(t *testing.T, opts ...apitest.Options) *apitest.Harness) {
		t.Run("withinTheWindowRenewsWithoutRotating", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c, u := h.SignUp(t, "tabs")
			first := *c.Refresh
			c.Do(t, refresh()).Want(t, http.StatusOK)
			rotated := c.Refresh.Value
			h.Clock.Advance(account.RefreshGrace - time.Second)
			// The second tab, with the cookie as it was before the first
			// tab's refresh.
			tab := h.NewClient()
			res := tab.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Cookies: []*http.Cookie{{Name: first.Name, Value: first.Value}}}).
				Want(t, http.StatusOK)
			var got apitest.TokenResponse
			res.JSON(t, &got)
			if got.User.ID != u.ID || got.AccessToken == "" {
				t.Fatalf("refresh within the grace window: %+v", got)
			}
			if ck := res.Cookie(apitest.RefreshCookie); ck != nil {
				t.Errorf("a refresh within the grace window must not set the cookie: %v", ck)
			}
			tab.Token = got.AccessToken
			tab.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			// Nothing was revoked, and the rotated token is still the current one.
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			var live int64
			h.DB.Gorm.Raw("SELECT COUNT(*) FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ? AND s.revoked_at IS NULL", c.Email).Scan(&live)
			if live != 1 {
				t.Errorf("%d live sessions, want 1", live)
			}
			if c.Refresh.Value != rotated {
				t.Fatalf("the cookie changed")
			}
			c.Do(t, refresh()).Want(t, http.StatusOK)
		})
		t.Run("atTheEndOfTheWindowReuseRevokesTheFamily", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c, _ := h.SignUp(t, "reuse")
			stolen := *c.Refresh
			c.Do(t, refresh()).Want(t, http.StatusOK)
			h.Clock.Advance(account.RefreshGrace)
			var latest apitest.TokenResponse
			c.Do(t, refresh()).Want(t, http.StatusOK).JSON(t, &latest)
			c.Token = latest.AccessToken
			// The thief replays the first token: the whole session ends.
			thief := h.NewClient()
			res := thief.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Cookies: []*http.Cookie{{Name: stolen.Name, Value: stolen.Value}}}).
				Want(t, http.StatusUnauthorized)
			if e := res.Error(t); e.Code != "unauthorized" {
				t.Errorf("%+v", e)
			}
			if ck := res.Cookie(apitest.RefreshCookie); ck == nil || ck.Value != "" {
				t.Errorf("the refused refresh must clear the cookie: %v", ck)
			}
			// The user's current refresh token and access token die with it.
			c.Do(t, refresh()).Want(t, http.StatusUnauthorized)
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized)
			var reason string
			h.DB.Gorm.Raw("SELECT revoke_reason FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.email = ?", c.Email).Scan(&reason)
			if reason != "refresh_reuse" {
				t.Errorf("revoke_reason %q", reason)
			}
		})
		t.Run("concurrentRefreshesRotateOnce", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c, _ := h.SignUp(t, "race")
			ck := []*http.Cookie{{Name: c.Refresh.Name, Value: c.Refresh.Value}}
			type answer struct {
				status  int
				rotated bool
			}
			answers := make(chan answer, 4)
			var errs goErrs
			for range 4 {
				go func() {
					res, err := h.Try(apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Cookies: ck})
					if err != nil {
						errs.add(err)
						answers <- answer{}
						return
					}
					nc := res.Cookie(apitest.RefreshCookie)
					answers <- answer{status: res.Status, rotated: nc != nil && nc.Value != ""}
				}()
			}
			ok, rotated := 0, 0
			for range 4 {
				a := <-answers
				if a.status == http.StatusOK {
					ok++
				}
				if a.rotated {
					rotated++
				}
			}
			errs.report(t)
			if ok != 4 || rotated != 1 {
				t.Errorf("%d of 4 concurrent refreshes succeeded and %d rotated; want 4 and 1", ok, rotated)
			}
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
		})
	})
}

func TestLogout(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		t.Run("endsSessionAtOnce", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "logout")
			token, cookie := c.Token, *c.Refresh
			res := c.Do(t, post("/api/v1/auth/logout", nil)).Want(t, http.StatusNoContent)
			if ck := res.Cookie(apitest.RefreshCookie); ck == nil || ck.Value != "" || ck.Path != "/api/v1/auth" {
				t.Errorf("logout must clear the cookie on its path: %v", ck)
			}
			h.Do(t, apitest.Request{Method: "GET", Path: "/api/v1/me", Token: token}).Want(t, http.StatusUnauthorized)
			h.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Cookies: []*http.Cookie{{Name: cookie.Name, Value: cookie.Value}}}).
				Want(t, http.StatusUnauthorized)
		})
		t.Run("withOnlyTheCookie", func(t *testing.T) {
			t.Parallel()
			c, _ := h.SignUp(t, "cookie-logout")
			token := c.Token
			c.Token = "" // the access token expired in the browser
			c.Do(t, post("/api/v1/auth/logout", nil)).Want(t, http.StatusNoContent)
			h.Do(t, apitest.Request{Method: "GET", Path: "/api/v1/me", Token: token}).Want(t, http.StatusUnauthorized)
		})
		t.Run("otherSessionsStay", func(t *testing.T) {
			t.Parallel()
			a, _ := h.SignUp(t, "two-devices")
			b := h.NewClient()
			b.Login(t, a.Email, apitest.DefaultPassword, true)
			a.Do(t, post("/api/v1/auth/logout", nil)).Want(t, http.StatusNoContent)
			b.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			b.Do(t, refresh()).Want(t, http.StatusOK)
		})
		t.Run("withoutSessionIsNoError", func(t *testing.T) {
			t.Parallel()
			h.NewClient().Do(t, post("/api/v1/auth/logout", nil)).Want(t, http.StatusNoContent)
		})
		t.Run("allEndsEverySession", func(t *testing.T) {
			t.Parallel()
			a, _ := h.SignUp(t, "logout-all")
			b := h.NewClient()
			b.Login(t, a.Email, apitest.DefaultPassword, true)
			bToken := b.Token
			other, _ := h.SignUp(t, "bystander")
			a.Do(t, post("/api/v1/auth/logout-all", nil)).Want(t, http.StatusNoContent)
			a.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized)
			h.Do(t, apitest.Request{Method: "GET", Path: "/api/v1/me", Token: bToken}).Want(t, http.StatusUnauthorized)
			b.Do(t, refresh()).Want(t, http.StatusUnauthorized)
			other.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
		})
	})
}

func TestSessionExpiry(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		t.Run("accessTokenLasts15Minutes", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c, _ := h.SignUp(t, "expiry")
			h.Clock.Advance(15*time.Minute - time.Second)
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			h.Clock.Advance(2 * time.Second)
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized)
			var got apitest.TokenResponse
			c.Do(t, refresh()).Want(t, http.StatusOK).JSON(t, &got)
			c.Token = got.AccessToken
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
		})
		t.Run("browserSessionCappedAt12Hours", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c, _ := h.SignUp(t, "browser")
			for range 47 { // keep refreshing every 15 minutes: still capped
				h.Clock.Advance(15 * time.Minute)
				c.Do(t, refresh()).Want(t, http.StatusOK)
			}
			h.Clock.Advance(15 * time.Minute)
			c.Do(t, refresh()).Want(t, http.StatusUnauthorized)
		})
		t.Run("rememberMeLasts30Days", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			c := h.NewClient()
			email := apitest.UniqueEmail("remember")
			c.Register(t, email)
			c.Login(t, email, apitest.DefaultPassword, true)
			h.Clock.Advance(13 * time.Hour) // the browser was closed overnight
			var got apitest.TokenResponse
			c.Do(t, refresh()).Want(t, http.StatusOK).JSON(t, &got)
			c.Token = got.AccessToken
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			h.Clock.Advance(30*24*time.Hour - 13*time.Hour - time.Minute)
			c.Do(t, refresh()).Want(t, http.StatusOK).JSON(t, &got)
			c.Token = got.AccessToken
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			// One minute later the session is 30 days old: its fresh access
			// token is refused because the session is checked on every request.
			h.Clock.Advance(time.Minute)
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized)
			// The browser drops the cookie when it expires; a server that saw
			// it anyway refuses it too.
			h.Do(t, apitest.Request{Method: "POST", Path: "/api/v1/auth/refresh", Cookies: []*http.Cookie{{Name: c.Refresh.Name, Value: c.Refresh.Value}}}).
				Want(t, http.StatusUnauthorized)
		})
	})
}

func TestRefreshCookie(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		for _, remember := range []bool{false, true} {
			name := map[bool]string{false: "browserSession", true: "rememberMe"}[remember]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c := h.NewClient()
				email := apitest.UniqueEmail(name)
				c.Register(t, email)
				res := c.Do(t, login(email, apitest.DefaultPassword, remember)).Want(t, http.StatusOK)
				raw := res.RawCookie(apitest.RefreshCookie)
				ck := res.Cookie(apitest.RefreshCookie)
				if ck == nil || len(ck.Value) < 40 {
					t.Fatalf("no refresh cookie: %q", raw)
				}
				for _, attr := range []string{"HttpOnly", "SameSite=Strict", "path=/api/v1/auth"} {
					if !strings.Contains(strings.ToLower(raw), strings.ToLower(attr)) {
						t.Errorf("cookie %q lacks %s", raw, attr)
					}
				}
				if strings.Contains(strings.ToLower(raw), "secure") {
					t.Errorf("development cookie must not be Secure (http://localhost): %q", raw)
				}
				hasLifetime := strings.Contains(strings.ToLower(raw), "max-age=") && strings.Contains(strings.ToLower(raw), "expires=")
				if remember != hasLifetime {
					t.Errorf("remember_me=%v: cookie %q; want Max-Age and Expires only with remember_me", remember, raw)
				}
				if remember && (ck.MaxAge != 30*24*3600 || !ck.Expires.Equal(h.Clock.Now().Add(30*24*time.Hour).Truncate(time.Second))) {
					t.Errorf("remember-me cookie lifetime: Max-Age %d, Expires %s", ck.MaxAge, ck.Expires)
				}
				// The refresh token is stored hashed only.
				var stored int64
				h.DB.Gorm.Raw("SELECT COUNT(*) FROM refresh_tokens WHERE token_hash = ?", ck.Value).Scan(&stored)
				if stored != 0 {
					t.Error("the refresh token is stored in clear")
				}
			})
		}
	})
}

func TestDisabledUser(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, u := h.SignUp(t, "disabled")
		if err := h.DB.Gorm.WithContext(context.Background()).Exec("UPDATE users SET disabled_at = ? WHERE id = ?", h.Clock.Now(), u.ID).Error; err != nil {
			t.Fatal(err)
		}
		c.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized)
		c.Do(t, refresh()).Want(t, http.StatusUnauthorized)
		e := h.NewClient().Do(t, login(c.Email, apitest.DefaultPassword, false)).Want(t, http.StatusForbidden).Error(t)
		if e.Code != "forbidden" {
			t.Errorf("%+v", e)
		}
		// A wrong password still gets the ordinary answer: no account probing.
		h.NewClient().Do(t, login(c.Email, "wrong-password-1", false)).Want(t, http.StatusUnauthorized)
	})
}
