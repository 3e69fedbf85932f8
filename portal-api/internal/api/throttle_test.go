package api_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

// retryAfter reads the Retry-After header of a 429.
func retryAfter(t *testing.T, res *apitest.Response) time.Duration {
	t.Helper()
	if e := res.Error(t); e.Code != "rate_limited" {
		t.Errorf("429 body: %+v", e)
	}
	secs, err := strconv.Atoi(res.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 15*60 {
		t.Fatalf("Retry-After %q", res.Header.Get("Retry-After"))
	}
	return time.Duration(secs) * time.Second
}

func TestLoginThrottle(t *testing.T) {
	eachBackendFresh(t, func(t *testing.T, newHarness func(*testing.T, ...apitest.Options) *apitest.Harness) {
		t.Run("perEmail", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			email := apitest.UniqueEmail("target")
			h.NewClient().Register(t, email)
			// Five failures, each from another address: the per-IP limit
			// never fires, the per-e-mail one does.
			for range 5 {
				h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			res := h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusTooManyRequests)
			wait := retryAfter(t, res)
			// Even the right password waits: that is the point.
			h.NewClient().Do(t, login(email, apitest.DefaultPassword, false)).Want(t, http.StatusTooManyRequests)
			// Other accounts are not affected.
			other := apitest.UniqueEmail("other")
			h.NewClient().Register(t, other)
			h.NewClient().Login(t, other, apitest.DefaultPassword, false)
			h.Clock.Advance(wait)
			h.NewClient().Login(t, email, apitest.DefaultPassword, false)
			// A success forgets the failures: five more may fail again.
			for range 5 {
				h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusTooManyRequests)
		})
		t.Run("unknownEmailThrottledAlike", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			email := apitest.UniqueEmail("ghost")
			for range 5 {
				h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			retryAfter(t, h.NewClient().Do(t, login(email, "guess-guess-guess", false)).Want(t, http.StatusTooManyRequests))
		})
		t.Run("perIP", func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			attacker := h.NewClient()
			// Spraying one password over many accounts from one address.
			for range 5 {
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
			for range 5 {
				h.NewClient().Do(t, login(apitest.UniqueEmail("rotate"), "guess-guess-guess", false)).Want(t, http.StatusUnauthorized)
			}
			h.NewClient().Do(t, login(apitest.UniqueEmail("rotate"), "guess-guess-guess", false)).Want(t, http.StatusTooManyRequests)
		})
	})
}
