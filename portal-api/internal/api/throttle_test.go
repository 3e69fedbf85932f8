package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

// retryAfter reads the Retry-After header of a 429 from a login limit.
func retryAfter(t *testing.T, res *apitest.Response) time.Duration {
	t.Helper()
	return retryAfterWithin(t, res, 15*time.Minute)
}

// retryAfterWithin reads the Retry-After header of a 429, at most max.
func retryAfterWithin(t *testing.T, res *apitest.Response, max time.Duration) time.Duration {
	t.Helper()
	if e := res.Error(t); e.Code != "rate_limited" {
		t.Errorf("429 body: %+v", e)
	}
	secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > max {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	return time.Duration(secs) * time.Second
}

func TestLoginThrottle(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		t.Run("perAccountAndAddress", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			email := apitest.UniqueEmail("target")
			h.NewClient().Register(t, email)
			stranger := h.NewClient()
			for range 5 {
				stranger.Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			wait := retryAfter(t, stranger.Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusTooManyRequests))
			// From that address even the right password waits: that is the point.
			stranger.Do(t, login(email, apitest.DefaultPassword, false)).Want(t, http.StatusTooManyRequests)
			// The owner, from anywhere else, is not locked out.
			h.NewClient().Login(t, email, apitest.DefaultPassword, false)
			// The stranger's address may still log in to other accounts.
			other := apitest.UniqueEmail("other")
			h.NewClient().Register(t, other)
			stranger.Login(t, other, apitest.DefaultPassword, false)
			h.Clock.Advance(wait)
			stranger.Login(t, email, apitest.DefaultPassword, false)
			// A success forgets that address's failures: five more may fail again.
			for range 5 {
				stranger.Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			stranger.Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusTooManyRequests)
		})
		t.Run("strangersElsewhereDoNotLockTheOwnerOut", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			email := apitest.UniqueEmail("owner")
			owner := h.NewClient()
			owner.Register(t, email)
			// Many addresses, each within its tight limit, below the ceiling.
			for range 8 {
				c := h.NewClient()
				for range 5 {
					c.Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
				}
			}
			owner.Login(t, email, apitest.DefaultPassword, false)
		})
		t.Run("perAccountCeiling", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, apitest.Options{Env: []string{"RESAYIL_LOGIN_ACCOUNT_LIMIT=8"}})
			email := apitest.UniqueEmail("ceiling")
			h.NewClient().Register(t, email)
			// Guesses spread over addresses, two from each: the tight limit
			// never fires, the ceiling does.
			for range 4 {
				c := h.NewClient()
				for range 2 {
					c.Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
				}
			}
			wait := retryAfter(t, h.NewClient().Do(t, login(email, apitest.DefaultPassword, false)).Want(t, http.StatusTooManyRequests))
			// Only that account: another one logs in from the same kind of address.
			h.SignUp(t, "unaffected")
			h.Clock.Advance(wait)
			h.NewClient().Login(t, email, apitest.DefaultPassword, false)
			// The owner's success does not refill the ceiling for guessers.
			h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusTooManyRequests)
		})
		t.Run("unknownEmailThrottledAlike", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			email := apitest.UniqueEmail("ghost")
			c := h.NewClient()
			for range 5 {
				c.Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			retryAfter(t, c.Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusTooManyRequests))
		})
		t.Run("perIP", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			attacker := h.NewClient()
			// Spraying one password over many accounts from one address.
			for range 20 {
				attacker.Do(t, login(apitest.UniqueEmail("spray"), "Summer-2025-spray", false)).Want(t, http.StatusUnauthorized)
			}
			wait := retryAfter(t, attacker.Do(t, login(apitest.UniqueEmail("spray"), "Summer-2025-spray", false)).Want(t, http.StatusTooManyRequests))
			// Another address is unaffected.
			h.NewClient().Do(t, login(apitest.UniqueEmail("spray"), "Summer-2025-spray", false)).Want(t, http.StatusUnauthorized)
			h.Clock.Advance(wait)
			attacker.Do(t, login(apitest.UniqueEmail("spray"), "Summer-2025-spray", false)).Want(t, http.StatusUnauthorized)
		})
		t.Run("successesDoNotCountAgainstTheIP", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			office := apitest.RandomIP() // many people behind one NAT address
			for i := range 8 {
				c := h.NewClient()
				c.IP = office
				c.Register(t, apitest.UniqueEmail("colleague"+strconv.Itoa(i)))
				c.Login(t, c.Email, apitest.DefaultPassword, false)
			}
		})
		t.Run("untrustedPeerCannotPickItsAddress", func(t *testing.T) {
			t.Parallel()
			// Without a trusted proxy, X-Forwarded-For is ignored: rotating
			// it does not give an attacker fresh allowances.
			h := newHarness(t, apitest.Options{Env: []string{"RESAYIL_TRUSTED_PROXIES="}})
			email := apitest.UniqueEmail("rotate")
			for range 5 {
				h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusTooManyRequests)
		})
	})
}

// TestLoginThrottle_RedisMode runs the lockout with the limiter in Redis
// (production, several replicas), where the limiter keeps Redis's clock:
// nothing here moves time.
func TestLoginThrottle_RedisMode(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			r := testenv.Redis(t)
			h := harness(t, b, apitest.Options{Env: []string{"RESAYIL_REDIS_URL=" + r.URL, "RESAYIL_REDIS_PREFIX=" + r.Prefix, "RESAYIL_LOGIN_ACCOUNT_LIMIT=12"}})
			email := apitest.UniqueEmail("redis")
			h.NewClient().Register(t, email)
			stranger := h.NewClient()
			for range 5 {
				stranger.Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			retryAfter(t, stranger.Do(t, login(email, apitest.DefaultPassword, false)).Want(t, http.StatusTooManyRequests))
			h.NewClient().Login(t, email, apitest.DefaultPassword, false)
			// 5 failures so far; 7 more from elsewhere reach the ceiling of 12.
			for range 7 {
				h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			retryAfter(t, h.NewClient().Do(t, login(email, apitest.DefaultPassword, false)).Want(t, http.StatusTooManyRequests))
		})
	}
}
