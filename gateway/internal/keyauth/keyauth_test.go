package keyauth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/pkg/resayil"
)

func TestAuthenticate_Header(t *testing.T) {
	store := newKeyTable()
	store.put(keyA, principal(1, 10, 100))
	a := newAuth(t, store, newClock(), keyauth.Config{})
	noKey := "You didn't provide an API key."
	for _, tc := range []struct {
		name, header string
		ok           bool
		message      string
	}{
		{"Bearer", "Bearer " + keyA, true, ""},
		{"LowerCaseScheme", "bearer " + keyA, true, ""},
		{"UpperCaseSchemeExtraSpaces", "  BEARER \t " + keyA + "  ", true, ""},
		{"Missing", "", false, noKey},
		{"SchemeOnly", "Bearer", false, noKey},
		{"SchemeAndSpace", "Bearer   ", false, noKey},
		{"Basic", "Basic dXNlcjpwYXNz", false, noKey},
		{"NoSpace", "Bearer" + keyA, false, noKey},
		{"NotSk", "Bearer pk-abcdefghijklmnopqrstuvwxyz", false, "Incorrect API key provided: pk-ab****wxyz."},
		{"PrefixOnly", "Bearer sk-", false, "Incorrect API key provided: ****."},
		{"InnerSpace", "Bearer sk-abc def", false, "Incorrect API key provided: ****."},
		{"TooLong", "Bearer sk-" + strings.Repeat("a", 300), false, "Incorrect API key provided: sk-aa****aaaa."},
		{"Unknown", "Bearer " + keyB, false, "Incorrect API key provided: sk-bb****BBBB."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tc.header)
			if tc.ok {
				if err != nil || p.KeyID != 1 {
					t.Fatalf("= %+v, %v; want key 1", p, err)
				}
				return
			}
			if resayil.ErrorCode(err) != resayil.EUNAUTHORIZED {
				t.Fatalf("err = %v, want unauthorized", err)
			}
			if msg := resayil.ErrorMessage(err); !strings.HasPrefix(msg, tc.message) {
				t.Errorf("message = %q, want prefix %q", msg, tc.message)
			}
		})
	}
	// Only the unknown well-formed key reached the store, besides the first
	// lookup of keyA.
	if n := store.calls.Load(); n != 2 {
		t.Errorf("store calls = %d, want 2 (malformed headers never reach the store)", n)
	}
}

func TestHashKeyAndMask(t *testing.T) {
	sum := sha256.Sum256([]byte(keyA))
	if got := keyauth.HashKey(keyA); got != hex.EncodeToString(sum[:]) {
		t.Errorf("HashKey = %s", got)
	}
	for in, want := range map[string]string{
		keyA:                    "sk-ab****wxyz",
		"sk-short":              "****",
		"sk-\x00bcdefghijklm\n": "sk-?b****klm?",
	} {
		if got := keyauth.MaskKey(in); got != want {
			t.Errorf("MaskKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAuthenticate_WarmKeyReadsNoStore(t *testing.T) {
	store := newKeyTable()
	store.put(keyA, principal(1, 10, 100))
	clk := newClock()
	a := newAuth(t, store, clk, keyauth.Config{})
	for range 100 {
		mustAuth(t, a, keyA)
		clk.Advance(200 * time.Millisecond) // 20 s in all, inside the 30 s TTL
	}
	if n := store.calls.Load(); n != 1 {
		t.Errorf("store calls = %d, want 1", n)
	}
}

func TestAuthenticate_PositiveTTL(t *testing.T) {
	store := newKeyTable()
	store.put(keyA, principal(1, 10, 100))
	clk := newClock()
	a := newAuth(t, store, clk, keyauth.Config{PositiveTTL: 30 * time.Second})
	mustAuth(t, a, keyA)
	store.remove(keyA) // revoked, and the event was lost
	clk.Advance(29 * time.Second)
	mustAuth(t, a, keyA)
	clk.Advance(time.Second)
	refusedWith(t, a, keyA, resayil.EUNAUTHORIZED)
	if n := store.calls.Load(); n != 2 {
		t.Errorf("store calls = %d, want 2", n)
	}
}

func TestAuthenticate_NegativeTTL(t *testing.T) {
	store := newKeyTable()
	clk := newClock()
	a := newAuth(t, store, clk, keyauth.Config{NegativeTTL: 5 * time.Second})
	for range 10 {
		refusedWith(t, a, keyA, resayil.EUNAUTHORIZED)
	}
	if n := store.calls.Load(); n != 1 {
		t.Fatalf("store calls = %d, want 1: unknown keys are cached", n)
	}
	store.put(keyA, principal(1, 10, 100)) // e.g. the account was enabled again
	clk.Advance(4 * time.Second)
	refusedWith(t, a, keyA, resayil.EUNAUTHORIZED)
	clk.Advance(time.Second)
	mustAuth(t, a, keyA)
}

func TestAuthenticate_OneLookupPerStampede(t *testing.T) {
	for _, known := range []bool{false, true} {
		t.Run(fmt.Sprintf("known=%v", known), func(t *testing.T) {
			store := newKeyTable()
			if known {
				store.put(keyA, principal(1, 10, 100))
			}
			a := newAuth(t, store, newClock(), keyauth.Config{})
			release := store.hold()
			const n = 64
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for range n {
				wg.Go(func() {
					_, err := a.Authenticate(context.Background(), "Bearer "+keyA)
					errs <- err
				})
			}
			// Every request waits on the one held lookup before it returns:
			// none arrives late to find the cache already filled.
			waitUntil(t, "every request waiting on one lookup", func() bool { return keyauth.Waiters(a, keyA) == n })
			release()
			wg.Wait()
			close(errs)
			for err := range errs {
				if known && err != nil || !known && resayil.ErrorCode(err) != resayil.EUNAUTHORIZED {
					t.Fatalf("err = %v", err)
				}
			}
			if c := store.calls.Load(); c != 1 {
				t.Errorf("store calls = %d, want 1", c)
			}
		})
	}
}

func TestAuthenticate_WaiterLeavesWithItsRequest(t *testing.T) {
	store := newKeyTable()
	store.put(keyA, principal(1, 10, 100))
	a := newAuth(t, store, newClock(), keyauth.Config{})
	release := store.hold()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := a.Authenticate(ctx, "Bearer "+keyA)
		done <- err
	}()
	waitUntil(t, "the request waiting on the lookup", func() bool { return keyauth.Waiters(a, keyA) == 1 })
	cancel()
	if err := <-done; resayil.ErrorCode(err) != resayil.EUNAVAILABLE {
		t.Fatalf("err = %v, want unavailable", err)
	}
	// The shared lookup was not canceled with the request that started it:
	// it completes and fills the cache.
	release()
	waitUntil(t, "the lookup to fill the cache", func() bool { return a.Len() > 0 })
	mustAuth(t, a, keyA)
	if n := store.calls.Load(); n != 1 {
		t.Errorf("store calls = %d, want 1", n)
	}
}

func TestAuthenticate_StoreDown(t *testing.T) {
	store := newKeyTable()
	store.put(keyA, principal(1, 10, 100))
	store.put(keyB, principal(2, 20, 200))
	clk := newClock()
	a := newAuth(t, store, clk, keyauth.Config{
		PositiveTTL: 30 * time.Second, MaxStale: time.Minute, RetryInterval: 2 * time.Second,
	})
	mustAuth(t, a, keyA)
	store.fail(errDown)

	// Cold key: refused as unavailable, never let through.
	p, err := a.Authenticate(context.Background(), "Bearer "+keyB)
	if resayil.ErrorCode(err) != resayil.EUNAVAILABLE || p.KeyID != 0 {
		t.Fatalf("cold key with the store down = %+v, %v; want unavailable", p, err)
	}
	if strings.Contains(resayil.ErrorMessage(err), "10.0.0.5") {
		t.Errorf("message leaks the cause: %q", resayil.ErrorMessage(err))
	}

	// Warm key: fresh, then stale, with one store attempt per RetryInterval.
	mustAuth(t, a, keyA)
	clk.Advance(30 * time.Second)
	before := store.calls.Load()
	for range 10 {
		if p := mustAuth(t, a, keyA); p.KeyID != 1 {
			t.Fatalf("stale principal = %+v", p)
		}
	}
	if n := store.calls.Load() - before; n != 1 {
		t.Errorf("store calls while stale = %d, want 1", n)
	}
	clk.Advance(2 * time.Second)
	mustAuth(t, a, keyA)
	if n := store.calls.Load() - before; n != 2 {
		t.Errorf("store calls after RetryInterval = %d, want 2", n)
	}

	// Past MaxStale the key is no longer served.
	clk.Advance(time.Minute)
	refusedWith(t, a, keyA, resayil.EUNAVAILABLE)

	// The store recovers.
	store.fail(nil)
	mustAuth(t, a, keyA)
	mustAuth(t, a, keyB)
}

func TestAuthenticate_StaleServingOff(t *testing.T) {
	store := newKeyTable()
	store.put(keyA, principal(1, 10, 100))
	clk := newClock()
	a := newAuth(t, store, clk, keyauth.Config{MaxStale: -1})
	mustAuth(t, a, keyA)
	store.fail(errDown)
	clk.Advance(30 * time.Second)
	refusedWith(t, a, keyA, resayil.EUNAVAILABLE)
}

func TestAuthenticate_ExpiredNegativeWithStoreDown(t *testing.T) {
	store := newKeyTable()
	clk := newClock()
	a := newAuth(t, store, clk, keyauth.Config{})
	refusedWith(t, a, keyA, resayil.EUNAUTHORIZED)
	store.fail(errDown)
	clk.Advance(5 * time.Second)
	refusedWith(t, a, keyA, resayil.EUNAVAILABLE)
}

type planSource struct{ basic resayil.Plan }

func (p planSource) Basic() resayil.Plan { return p.basic }

func TestAuthenticate_PlanExpiryFallsBackToBasic(t *testing.T) {
	store := newKeyTable()
	clk := newClock()
	pro := principal(1, 10, 100)
	pro.Plan, pro.Subscribed, pro.PlanExpiresAt = proPlan, true, clk.Now().Add(10*time.Second)
	store.put(keyA, pro)
	store.put(keyB, principal(2, 20, 200))
	editedBasic := basicPlan
	editedBasic.RateLimitPerMinute = 12
	a := newAuth(t, store, clk, keyauth.Config{Plans: planSource{editedBasic}})

	if p := mustAuth(t, a, keyA); p.Plan.Code != resayil.TierPro || !p.Subscribed {
		t.Fatalf("before expiry: %+v", p)
	}
	clk.Advance(10 * time.Second)
	p := mustAuth(t, a, keyA)
	if p.Plan.Code != resayil.TierBasic || p.Plan.RateLimitPerMinute != 12 || p.Subscribed || !p.PlanExpiresAt.IsZero() {
		t.Errorf("at expiry: %+v, want the current Basic plan, not subscribed", p)
	}
	if n := store.calls.Load(); n != 1 {
		t.Errorf("store calls = %d, want 1: expiry needs no lookup", n)
	}
	// An unsubscribed principal always carries the current Basic plan.
	if p := mustAuth(t, a, keyB); p.Plan.RateLimitPerMinute != 12 {
		t.Errorf("unsubscribed plan = %+v, want the Plans source's Basic", p.Plan)
	}
}

func TestInvalidate(t *testing.T) {
	setup := func(t *testing.T) (*keyTable, *keyauth.Authenticator) {
		store := newKeyTable()
		store.put(keyA, principal(1, 10, 100))
		store.put(keyB, principal(2, 20, 200))
		a := newAuth(t, store, newClock(), keyauth.Config{})
		mustAuth(t, a, keyA)
		mustAuth(t, a, keyB)
		store.remove(keyA) // what the event announces
		return store, a
	}
	for _, tc := range []struct {
		name       string
		invalidate func(a *keyauth.Authenticator)
	}{
		{"Key", func(a *keyauth.Authenticator) { a.InvalidateKey(keyauth.HashKey(keyA)) }},
		{"KeyID", func(a *keyauth.Authenticator) { a.InvalidateKeyID(1) }},
		{"Account", func(a *keyauth.Authenticator) { a.InvalidateAccount(10) }},
		{"User", func(a *keyauth.Authenticator) { a.InvalidateUser(100) }},
		{"All", func(a *keyauth.Authenticator) { a.InvalidateAll() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, a := setup(t)
			mustAuth(t, a, keyA) // still cached
			tc.invalidate(a)
			refusedWith(t, a, keyA, resayil.EUNAUTHORIZED)
			before := store.calls.Load()
			mustAuth(t, a, keyB)
			want := int64(0)
			if tc.name == "All" {
				want = 1
			}
			if n := store.calls.Load() - before; n != want {
				t.Errorf("the other key cost %d lookups, want %d", n, want)
			}
		})
	}
	t.Run("AccountDropsNegativeEntries", func(t *testing.T) {
		store := newKeyTable()
		a := newAuth(t, store, newClock(), keyauth.Config{})
		refusedWith(t, a, keyA, resayil.EUNAUTHORIZED)
		store.put(keyA, principal(1, 10, 100)) // account enabled again
		a.InvalidateAccount(10)
		mustAuth(t, a, keyA)
	})
	t.Run("MalformedHashIgnored", func(t *testing.T) {
		_, a := setup(t)
		a.InvalidateKey("not hex")
		a.InvalidateKey(strings.Repeat("ab", 31))
		mustAuth(t, a, keyA)
	})
}

// A lookup that read the key before its revocation committed must not put
// the key back into the cache after the revocation event.
func TestInvalidate_DuringLookup(t *testing.T) {
	store := newKeyTable()
	store.put(keyA, principal(1, 10, 100))
	a := newAuth(t, store, newClock(), keyauth.Config{})
	release := store.hold()
	done := make(chan error)
	go func() {
		_, err := a.Authenticate(context.Background(), "Bearer "+keyA)
		done <- err
	}()
	// The lookup reads the invalidation count before it calls the store:
	// once the store is called, the revocation below is mid-lookup.
	waitUntil(t, "the lookup in the store", func() bool { return keyauth.Waiters(a, keyA) == 1 && store.calls.Load() == 1 })
	a.InvalidateKeyID(1) // the revocation event arrives mid-lookup
	release()            // the lookup returns the pre-revocation row
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	store.remove(keyA)
	refusedWith(t, a, keyA, resayil.EUNAUTHORIZED)
	if n := store.calls.Load(); n != 2 {
		t.Errorf("store calls = %d, want 2: the raced result was not cached", n)
	}
}

func TestInvalidateAll_KeepsStaleForOutage(t *testing.T) {
	store := newKeyTable()
	store.put(keyA, principal(1, 10, 100))
	a := newAuth(t, store, newClock(), keyauth.Config{})
	mustAuth(t, a, keyA)
	store.fail(errDown)
	a.InvalidateAll() // a resync after the same outage
	mustAuth(t, a, keyA)
	a.InvalidateKeyID(1) // an explicit revocation is never served stale
	refusedWith(t, a, keyA, resayil.EUNAVAILABLE)
}

func TestCache_SizeBound(t *testing.T) {
	store := newKeyTable()
	clk := newClock()
	const max = 50
	a := newAuth(t, store, clk, keyauth.Config{MaxEntries: max})
	for i := range 500 {
		key := fmt.Sprintf("sk-key%040d", i)
		if i%2 == 0 {
			store.put(key, principal(int64(i+1), 10, 100))
			mustAuth(t, a, key)
		} else {
			refusedWith(t, a, key, resayil.EUNAUTHORIZED)
		}
		clk.Advance(10 * time.Millisecond)
		if n := a.Len(); n > max {
			t.Fatalf("after %d keys Len = %d, want <= %d", i+1, n, max)
		}
	}
	if n := a.Len(); n < max/2 {
		t.Errorf("Len = %d: the cache should stay nearly full", n)
	}
	// Evicted keys are looked up again and still correct.
	if p := mustAuth(t, a, fmt.Sprintf("sk-key%040d", 0)); p.KeyID != 1 {
		t.Errorf("re-fetched principal = %+v", p)
	}
}

func TestCache_TinyBound(t *testing.T) {
	store := newKeyTable()
	store.put(keyA, principal(1, 10, 100))
	store.put(keyB, principal(2, 20, 200))
	a := newAuth(t, store, newClock(), keyauth.Config{MaxEntries: 1})
	mustAuth(t, a, keyA)
	mustAuth(t, a, keyB)
	if n := a.Len(); n != 1 {
		t.Errorf("Len = %d, want 1", n)
	}
}

func TestNew_RejectsBadConfig(t *testing.T) {
	if _, err := keyauth.New(nil, keyauth.Config{}); err == nil {
		t.Error("nil store accepted")
	}
	if _, err := keyauth.New(newKeyTable(), keyauth.Config{PositiveTTL: -time.Second}); err == nil {
		t.Error("negative TTL accepted")
	}
}

func TestAuthenticate_Concurrent(t *testing.T) {
	store := newKeyTable()
	keys := make([]string, 20)
	for i := range keys {
		keys[i] = fmt.Sprintf("sk-conc%040d", i)
		if i%4 != 0 {
			store.put(keys[i], principal(int64(i+1), resayil.AccountID(i%3+1), 100))
		}
	}
	clk := newClock()
	a := newAuth(t, store, clk, keyauth.Config{MaxEntries: 8})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 400 {
				k := keys[(g*7+i)%len(keys)]
				p, err := a.Authenticate(context.Background(), "Bearer "+k)
				idx := (g*7 + i) % len(keys)
				switch {
				case idx%4 == 0 && resayil.ErrorCode(err) != resayil.EUNAUTHORIZED:
					t.Errorf("unknown key: %v", err)
				case idx%4 != 0 && (err != nil || p.KeyID != resayil.APIKeyID(idx+1)):
					t.Errorf("key %d: %+v, %v", idx, p, err)
				}
				switch i % 50 {
				case 10:
					a.InvalidateAccount(resayil.AccountID(g%3 + 1))
				case 20:
					a.InvalidateAll()
				case 30:
					clk.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if n := a.Len(); n > 8 {
		t.Errorf("Len = %d, want <= 8", n)
	}
}
