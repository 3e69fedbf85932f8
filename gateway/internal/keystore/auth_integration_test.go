package keystore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/gateway/internal/keystore"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

// authEnv is an Authenticator over the real SQL store on a counted pool.
type authEnv struct {
	*env
	auth  *keyauth.Authenticator
	plans *keyauth.PlanSet
	db    interface{ Close() error }
}

func newAuthEnv(t *testing.T, b testenv.Backend, cfg keyauth.Config) *authEnv {
	t.Helper()
	counted, plain, log := countedDB(t, b)
	clk := newClock()
	store := keystore.New(counted, keystore.Config{Now: clk.Now})
	e := &authEnv{env: &env{backend: b, store: store, log: log, fx: newFixture(t, plain.SQL, clk), clk: clk}, db: counted.SQL}
	e.plans = keyauth.NewPlanSet(store)
	if err := e.plans.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg.Plans, cfg.Now = e.plans, clk.Now
	a, err := keyauth.New(store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.auth = a
	return e
}

func (e *authEnv) authenticate(key string) (resayil.Principal, error) {
	return e.auth.Authenticate(context.Background(), "Bearer "+key)
}

func (e *authEnv) mustAuth(t *testing.T, key string) resayil.Principal {
	t.Helper()
	p, err := e.authenticate(key)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

func (e *authEnv) refused(t *testing.T, key string, code resayil.Code) {
	t.Helper()
	if p, err := e.authenticate(key); resayil.ErrorCode(err) != code {
		t.Fatalf("Authenticate = %+v, %v; want %s", p, err, code)
	}
}

func eachAuthBackend(t *testing.T, cfg keyauth.Config, fn func(t *testing.T, e *authEnv)) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, newAuthEnv(t, b, cfg))
		})
	}
}

// TestAuth_WarmRequestQueriesNothing: a warm request (its key already
// cached) makes no database query, counted at the driver
// (docs/architecture.md "Dependency rules").
func TestAuth_WarmRequestQueriesNothing(t *testing.T) {
	eachAuthBackend(t, keyauth.Config{}, func(t *testing.T, e *authEnv) {
		u := e.fx.user()
		key, id := e.fx.key(u, u.Account)
		e.fx.subscribe(u.Account, resayil.TierPro, 24*time.Hour)

		before := e.log.Count()
		p := e.mustAuth(t, key)
		if p.KeyID != id || p.Account != u.Account || p.Plan.Code != resayil.TierPro || !p.Subscribed {
			t.Fatalf("principal = %+v", p)
		}
		if got := e.log.Since(before); len(got) != 1 || !strings.HasPrefix(got[0], "SELECT k.id") {
			t.Fatalf("cold request ran %q, want the one lookup SELECT", got)
		}
		warm := e.log.Count()
		for range 200 {
			e.mustAuth(t, key)
			e.clk.Advance(100 * time.Millisecond)
		}
		if got := e.log.Since(warm); len(got) != 0 {
			t.Errorf("200 warm requests ran %d statements: %q", len(got), got)
		}
	})
}

func TestAuth_RevokedKey(t *testing.T) {
	eachAuthBackend(t, keyauth.Config{PositiveTTL: 30 * time.Second, NegativeTTL: 5 * time.Second}, func(t *testing.T, e *authEnv) {
		u := e.fx.user()
		keyEvent, idEvent := e.fx.key(u, u.Account)
		keyTTL, idTTL := e.fx.key(u, u.Account)
		e.mustAuth(t, keyEvent)
		e.mustAuth(t, keyTTL)

		revoke := func(id resayil.APIKeyID) {
			e.fx.exec(`UPDATE api_keys SET revoked_at = ? WHERE id = ?`, e.fx.ts(), id)
		}
		// With the event: refused at once.
		revoke(idEvent)
		e.mustAuth(t, keyEvent) // the cache has not heard yet
		e.auth.InvalidateKeyID(idEvent)
		e.refused(t, keyEvent, resayil.EUNAUTHORIZED)
		// The same through InvalidateKey, after a re-enable.
		e.fx.exec(`UPDATE api_keys SET revoked_at = NULL WHERE id = ?`, idEvent)
		e.auth.InvalidateKey(keyauth.HashKey(keyEvent))
		e.mustAuth(t, keyEvent)
		revoke(idEvent)
		e.auth.InvalidateKey(keyauth.HashKey(keyEvent))
		e.refused(t, keyEvent, resayil.EUNAUTHORIZED)

		// Without the event: refused once the positive TTL has passed.
		revoke(idTTL)
		e.clk.Advance(29 * time.Second)
		e.mustAuth(t, keyTTL)
		e.clk.Advance(time.Second)
		e.refused(t, keyTTL, resayil.EUNAUTHORIZED)

		// Refusals are cached for the negative TTL, then looked up again.
		n := e.log.Count()
		for range 20 {
			e.refused(t, keyTTL, resayil.EUNAUTHORIZED)
		}
		if got := e.log.Count() - n; got != 0 {
			t.Errorf("repeated refusals ran %d statements, want 0", got)
		}
		e.fx.exec(`UPDATE api_keys SET revoked_at = NULL WHERE id = ?`, idTTL)
		e.clk.Advance(5 * time.Second)
		e.mustAuth(t, keyTTL)

		// An unknown key is refused and does not reach the database again
		// within the negative TTL.
		unknown := "sk-" + strings.Repeat("u", 43)
		n = e.log.Count()
		for range 20 {
			e.refused(t, unknown, resayil.EUNAUTHORIZED)
		}
		if got := e.log.Count() - n; got != 1 {
			t.Errorf("20 unknown-key requests ran %d statements, want 1", got)
		}
	})
}

func TestAuth_DisabledUserAndAccount(t *testing.T) {
	eachAuthBackend(t, keyauth.Config{}, func(t *testing.T, e *authEnv) {
		u := e.fx.user()
		key, _ := e.fx.key(u, u.Account)
		e.mustAuth(t, key)
		e.fx.exec(`UPDATE users SET disabled_at = ? WHERE id = ?`, e.fx.ts(), u.ID)
		e.auth.InvalidateUser(u.ID) // accountevents: account_disabled, subject user:<id>
		e.refused(t, key, resayil.EUNAUTHORIZED)
		e.fx.exec(`UPDATE users SET disabled_at = NULL WHERE id = ?`, u.ID)
		e.auth.InvalidateUser(u.ID) // account_enabled drops the negative entry too
		e.mustAuth(t, key)

		member := e.fx.user()
		team := e.fx.teamAccount()
		teamKey, _ := e.fx.key(member, team)
		e.mustAuth(t, teamKey)
		e.fx.exec(`UPDATE accounts SET status = 'disabled' WHERE id = ?`, team)
		e.auth.InvalidateAccount(team)
		e.refused(t, teamKey, resayil.EUNAUTHORIZED)
	})
}

func TestAuth_ExpiredPlanFallsBackToBasic(t *testing.T) {
	eachAuthBackend(t, keyauth.Config{PositiveTTL: time.Hour}, func(t *testing.T, e *authEnv) {
		u := e.fx.user()
		key, _ := e.fx.key(u, u.Account)
		_, exp := e.fx.subscribe(u.Account, resayil.TierEnterprise, 10*time.Second)
		p := e.mustAuth(t, key)
		if p.Plan.Code != resayil.TierEnterprise || !p.PlanExpiresAt.Equal(exp) {
			t.Fatalf("principal = %+v, want enterprise until %v", p, exp)
		}
		n := e.log.Count()
		e.clk.Advance(10 * time.Second)
		p = e.mustAuth(t, key)
		if p.Subscribed || p.Plan.Code != resayil.TierBasic || p.Plan.RateLimitPerMinute != 10 || p.Plan.Allows(resayil.ClassLarge) {
			t.Errorf("after expiry = %+v, want Basic", p)
		}
		if got := e.log.Since(n); len(got) != 0 {
			t.Errorf("expiry cost %q, want no statement and no event", got)
		}
		// A fresh lookup agrees.
		e.auth.InvalidateAll()
		if p := e.mustAuth(t, key); p.Subscribed || p.Plan.Code != resayil.TierBasic {
			t.Errorf("fresh lookup after expiry = %+v", p)
		}
	})
}

func TestAuth_PlanChange(t *testing.T) {
	eachAuthBackend(t, keyauth.Config{}, func(t *testing.T, e *authEnv) {
		u := e.fx.user()
		key, _ := e.fx.key(u, u.Account)
		if p := e.mustAuth(t, key); p.Plan.Code != resayil.TierBasic || p.Subscribed {
			t.Fatalf("principal = %+v, want Basic", p)
		}
		e.fx.subscribe(u.Account, resayil.TierPro, 30*24*time.Hour)
		e.auth.InvalidateAccount(u.Account) // accountevents: plan_changed
		if p := e.mustAuth(t, key); p.Plan.Code != resayil.TierPro || p.Plan.RateLimitPerMinute != 30 {
			t.Errorf("after the plan change = %+v, want Pro", p)
		}
	})
}

// TestAuth_StoreDown: the database goes away; keys already cached keep
// working (as in Redis mode, docs/architecture.md "Failure behaviour"), a
// key that is not answers unavailable.
func TestAuth_StoreDown(t *testing.T) {
	cfg := keyauth.Config{PositiveTTL: 30 * time.Second, MaxStale: 10 * time.Minute, LookupTimeout: 2 * time.Second}
	eachAuthBackend(t, cfg, func(t *testing.T, e *authEnv) {
		u := e.fx.user()
		warm, _ := e.fx.key(u, u.Account)
		cold, _ := e.fx.key(u, u.Account)
		e.mustAuth(t, warm)
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		e.mustAuth(t, warm)
		e.clk.Advance(time.Minute) // past the TTL: served stale
		if p := e.mustAuth(t, warm); p.UserID != u.ID {
			t.Errorf("stale principal = %+v", p)
		}
		e.refused(t, cold, resayil.EUNAVAILABLE)
	})
}

func TestAuth_CacheBound(t *testing.T) {
	eachAuthBackend(t, keyauth.Config{MaxEntries: 8}, func(t *testing.T, e *authEnv) {
		u := e.fx.user()
		ids := map[string]resayil.APIKeyID{}
		for range 20 {
			k, id := e.fx.key(u, u.Account)
			ids[k] = id
		}
		for range 2 {
			for k, id := range ids {
				if p := e.mustAuth(t, k); p.KeyID != id {
					t.Fatalf("key %d: principal %+v", id, p)
				}
				if n := e.auth.Len(); n > 8 {
					t.Fatalf("Len = %d, want <= 8", n)
				}
			}
		}
	})
}

// TestAuth_LastUsedBatches: one UPDATE per interval with each used key
// once, nothing on the request path, and a final flush on Close.
func TestAuth_LastUsedBatches(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			ticks := make(chan time.Time)
			counted, plain, log := countedDB(t, b)
			clk := newClock()
			store := keystore.New(counted, keystore.Config{Now: clk.Now})
			fx := newFixture(t, plain.SQL, clk)
			f := keyauth.NewLastUsedFlusher(store, keyauth.LastUsedConfig{Ticks: ticks, Now: clk.Now})
			a, err := keyauth.New(store, keyauth.Config{Now: clk.Now, LastUsed: f})
			if err != nil {
				t.Fatal(err)
			}
			u := fx.user()
			k1, id1 := fx.key(u, u.Account)
			k2, id2 := fx.key(u, u.Account)
			k3, id3 := fx.key(u, u.Account)
			_, idle := fx.key(u, u.Account)
			auth := func(k string) {
				t.Helper()
				if _, err := a.Authenticate(context.Background(), "Bearer "+k); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				auth(k1)
				auth(k2)
			}
			auth(k1)
			n := log.Count()
			for range 10 {
				auth(k1)
			}
			if got := log.Since(n); len(got) != 0 {
				t.Fatalf("requests wrote %q on the request path", got)
			}
			if fx.lastUsed(id1).Valid {
				t.Fatal("last_used_at written before the interval ended")
			}

			first := clk.Now().Truncate(time.Microsecond)
			n = log.Count()
			tick(ticks)
			got := log.Since(n)
			if len(got) != 1 || !strings.HasPrefix(got[0], "UPDATE api_keys SET last_used_at") || strings.Count(got[0], "?") != 4 {
				t.Fatalf("flush ran %q, want one UPDATE for 2 ids", got)
			}
			for _, id := range []resayil.APIKeyID{id1, id2} {
				if at := fx.lastUsed(id); !at.Valid || !at.Time.Equal(first) {
					t.Errorf("key %d last_used_at = %v, want %v", id, at, first)
				}
			}
			for _, id := range []resayil.APIKeyID{id3, idle} {
				if at := fx.lastUsed(id); at.Valid {
					t.Errorf("unused key %d has last_used_at %v", id, at.Time)
				}
			}

			// Close flushes what the next interval would have.
			clk.Advance(7 * time.Second)
			auth(k3)
			if err := f.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if at := fx.lastUsed(id3); !at.Valid || !at.Time.Equal(clk.Now()) {
				t.Errorf("after Close key %d last_used_at = %v, want %v", id3, at, clk.Now())
			}
			if at := fx.lastUsed(idle); at.Valid {
				t.Errorf("idle key marked used")
			}
		})
	}
}

func tick(ticks chan time.Time) {
	ticks <- time.Time{}
	ticks <- time.Time{}
}
