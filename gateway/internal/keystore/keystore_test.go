package keystore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/gateway/internal/keystore"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

// env is a migrated database of one backend with the seeded plans, a
// Store on a counted pool, and the fixture writing through another pool.
type env struct {
	backend testenv.Backend
	store   *keystore.Store
	log     *queryLog
	fx      *fixture
	clk     *clock
}

func newEnv(t *testing.T, b testenv.Backend) *env {
	t.Helper()
	counted, plain, log := countedDB(t, b)
	clk := newClock()
	return &env{
		backend: b,
		store:   keystore.New(counted, keystore.Config{Now: clk.Now}),
		log:     log,
		fx:      newFixture(t, plain.SQL, clk),
		clk:     clk,
	}
}

func eachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, newEnv(t, b))
		})
	}
}

func TestLookupKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		lookup := func(key string) (resayil.Principal, error) {
			return e.store.LookupKey(ctx, keyauth.HashKey(key))
		}

		t.Run("SubscribedOneQuery", func(t *testing.T) {
			u := e.fx.user()
			key, id := e.fx.key(u, u.Account)
			_, exp := e.fx.subscribe(u.Account, resayil.TierPro, 30*24*time.Hour)
			before := e.log.Count()
			p, err := lookup(key)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.log.Since(before); len(got) != 1 || !strings.HasPrefix(got[0], "SELECT") {
				t.Errorf("statements = %q, want one SELECT", got)
			}
			want := resayil.Principal{KeyID: id, UserID: u.ID, Account: u.Account, Subscribed: true, PlanExpiresAt: exp,
				Plan: resayil.Plan{Code: resayil.TierPro, Name: "Pro", RateLimitPerMinute: 30, CloudAllowed: true, QueuePriority: 1, SortOrder: 2,
					Classes: []resayil.ModelClass{resayil.ClassSmall, resayil.ClassMedium, resayil.ClassLarge, resayil.ClassCloud}}}
			if !equalPrincipal(p, want) {
				t.Errorf("principal\n got %+v\nwant %+v", p, want)
			}
		})

		t.Run("NoSubscriptionIsBasic", func(t *testing.T) {
			u := e.fx.user()
			key, _ := e.fx.key(u, u.Account)
			p, err := lookup(key)
			if err != nil {
				t.Fatal(err)
			}
			if p.Subscribed || !p.PlanExpiresAt.IsZero() || p.Plan.Code != resayil.TierBasic || p.Plan.RateLimitPerMinute != 10 ||
				!slices.Equal(p.Plan.Classes, []resayil.ModelClass{resayil.ClassSmall, resayil.ClassMedium}) {
				t.Errorf("principal = %+v, want Basic and not subscribed", p)
			}
		})

		t.Run("InactiveSubscriptionsAreIgnored", func(t *testing.T) {
			u := e.fx.user()
			key, _ := e.fx.key(u, u.Account)
			expired, _ := e.fx.subscribe(u.Account, resayil.TierEnterprise, time.Hour)
			e.fx.exec(`UPDATE subscriptions SET expires_at = ? WHERE id = ?`, e.fx.ts(), expired) // ends exactly now
			ended, _ := e.fx.subscribe(u.Account, resayil.TierEnterprise, time.Hour)
			e.fx.exec(`UPDATE subscriptions SET ended_at = ? WHERE id = ?`, e.fx.ts(), ended)
			canceled, _ := e.fx.subscribe(u.Account, resayil.TierEnterprise, time.Hour)
			e.fx.exec(`UPDATE subscriptions SET status = 'canceled' WHERE id = ?`, canceled)
			future, _ := e.fx.subscribe(u.Account, resayil.TierEnterprise, 2*time.Hour)
			e.fx.exec(`UPDATE subscriptions SET starts_at = ? WHERE id = ?`, e.fx.ts().Add(time.Hour), future)
			p, err := lookup(key)
			if err != nil {
				t.Fatal(err)
			}
			if p.Subscribed || p.Plan.Code != resayil.TierBasic {
				t.Errorf("principal = %+v, want Basic", p)
			}
		})

		t.Run("ExpiresWithTheClock", func(t *testing.T) {
			u := e.fx.user()
			key, _ := e.fx.key(u, u.Account)
			e.fx.subscribe(u.Account, resayil.TierPro, time.Minute)
			if p, err := lookup(key); err != nil || !p.Subscribed {
				t.Fatalf("before expiry: %+v, %v", p, err)
			}
			e.clk.Advance(time.Minute)
			defer e.clk.Advance(-time.Minute)
			if p, err := lookup(key); err != nil || p.Subscribed || p.Plan.Code != resayil.TierBasic {
				t.Fatalf("at expiry: %+v, %v; want Basic", p, err)
			}
		})

		t.Run("OverlappingSubscriptionsNewest", func(t *testing.T) {
			u := e.fx.user()
			key, _ := e.fx.key(u, u.Account)
			e.fx.subscribe(u.Account, resayil.TierPro, 20*24*time.Hour)
			_, exp := e.fx.subscribe(u.Account, resayil.TierEnterprise, 10*24*time.Hour)
			p, err := lookup(key)
			if err != nil {
				t.Fatal(err)
			}
			if p.Plan.Code != resayil.TierEnterprise || !p.PlanExpiresAt.Equal(exp) || !p.Plan.EnterpriseModels {
				t.Errorf("principal = %+v, want the newest (enterprise) subscription ending %v", p, exp)
			}
		})

		t.Run("TeamKeyHasTeamPlan", func(t *testing.T) {
			u := e.fx.user()
			team := e.fx.teamAccount()
			e.fx.subscribe(team, resayil.TierEnterprise, time.Hour)
			key, id := e.fx.key(u, team)
			p, err := lookup(key)
			if err != nil {
				t.Fatal(err)
			}
			if p.KeyID != id || p.UserID != u.ID || p.Account != team || p.Plan.Code != resayil.TierEnterprise {
				t.Errorf("principal = %+v, want user %d on team %d with enterprise", p, u.ID, team)
			}
		})

		t.Run("RefusedKeysAreNotFound", func(t *testing.T) {
			revoked := e.fx.user()
			revokedKey, revokedID := e.fx.key(revoked, revoked.Account)
			e.fx.exec(`UPDATE api_keys SET revoked_at = ? WHERE id = ?`, e.fx.ts(), revokedID)

			disabled := e.fx.user()
			disabledKey, _ := e.fx.key(disabled, disabled.Account)
			e.fx.exec(`UPDATE users SET disabled_at = ? WHERE id = ?`, e.fx.ts(), disabled.ID)

			suspended := e.fx.user()
			suspendedKey, _ := e.fx.key(suspended, suspended.Account)
			e.fx.exec(`UPDATE accounts SET status = 'disabled' WHERE id = ?`, suspended.Account)

			member := e.fx.user()
			team := e.fx.teamAccount()
			teamKey, _ := e.fx.key(member, team)
			e.fx.exec(`UPDATE accounts SET status = 'disabled' WHERE id = ?`, team)

			ownDisabled := e.fx.user()
			team2 := e.fx.teamAccount()
			ownDisabledKey, _ := e.fx.key(ownDisabled, team2)
			e.fx.exec(`UPDATE accounts SET status = 'disabled' WHERE id = ?`, ownDisabled.Account)

			for name, key := range map[string]string{
				"unknown": "sk-unknown" + strings.Repeat("x", 40), "revoked": revokedKey, "user disabled": disabledKey,
				"account disabled": suspendedKey, "team disabled": teamKey, "member's own account disabled": ownDisabledKey,
			} {
				if _, err := lookup(key); resayil.ErrorCode(err) != resayil.ENOTFOUND {
					t.Errorf("%s: err = %v, want not_found", name, err)
				}
			}
		})

		t.Run("MalformedHashSkipsTheQuery", func(t *testing.T) {
			before := e.log.Count()
			for _, h := range []string{"", "abc", strings.Repeat("G", 64), strings.ToUpper(keyauth.HashKey("sk-x"))} {
				if _, err := e.store.LookupKey(ctx, h); resayil.ErrorCode(err) != resayil.ENOTFOUND {
					t.Errorf("LookupKey(%q) err = %v, want not_found", h, err)
				}
			}
			if n := e.log.Count() - before; n != 0 {
				t.Errorf("%d statements for malformed hashes, want 0", n)
			}
		})
	})
}

func TestLookupKey_NoBasicRowUsesDefault(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		u := e.fx.user()
		key, _ := e.fx.key(u, u.Account)
		e.fx.exec(`UPDATE subscription_plans SET code = 'basic-old' WHERE code = 'basic'`)
		p, err := e.store.LookupKey(context.Background(), keyauth.HashKey(key))
		if err != nil {
			t.Fatal(err)
		}
		if p.Plan.Code != resayil.TierBasic || p.Plan.RateLimitPerMinute != keyauth.DefaultBasicPlan().RateLimitPerMinute {
			t.Errorf("plan = %+v, want the default Basic plan", p.Plan)
		}
	})
}

func TestPlans(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		e.fx.exec(`UPDATE subscription_plans SET active = ? WHERE code = 'enterprise'`, false)
		plans, err := e.store.Plans(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(plans) != 2 || plans[0].Code != resayil.TierBasic || plans[1].Code != resayil.TierPro {
			t.Fatalf("plans = %+v, want basic then pro", plans)
		}
		pro := plans[1]
		if pro.Name != "Pro" || pro.RateLimitPerMinute != 30 || !pro.CloudAllowed || pro.EnterpriseModels || pro.QueuePriority != 1 ||
			pro.SortOrder != 2 || !pro.Allows(resayil.ClassLarge) || !pro.Allows(resayil.ClassCloud) || len(pro.Classes) != 4 {
			t.Errorf("pro = %+v", pro)
		}

		set := keyauth.NewPlanSet(e.store)
		if err := set.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
		if b := set.Basic(); b.Code != resayil.TierBasic || b.RateLimitPerMinute != 10 {
			t.Errorf("PlanSet.Basic() = %+v", b)
		}
	})
}

func TestMarkUsed(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		u := e.fx.user()
		_, a := e.fx.key(u, u.Account)
		_, b := e.fx.key(u, u.Account)
		_, c := e.fx.key(u, u.Account)
		at := e.clk.Now().Add(123456789 * time.Nanosecond)

		before := e.log.Count()
		if err := e.store.MarkUsed(ctx, []resayil.APIKeyID{a, b}, at); err != nil {
			t.Fatal(err)
		}
		if got := e.log.Since(before); len(got) != 1 || !strings.HasPrefix(got[0], "UPDATE api_keys") {
			t.Errorf("statements = %q, want one UPDATE", got)
		}
		want := at.Truncate(time.Microsecond)
		for _, id := range []resayil.APIKeyID{a, b} {
			if got := e.fx.lastUsed(id); !got.Valid || !got.Time.Equal(want) {
				t.Errorf("key %d last_used_at = %v, want %v", id, got, want)
			}
		}
		if got := e.fx.lastUsed(c); got.Valid {
			t.Errorf("untouched key %d last_used_at = %v, want NULL", c, got.Time)
		}

		// An older batch (a slower gateway) never moves the time back.
		if err := e.store.MarkUsed(ctx, []resayil.APIKeyID{a}, at.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got := e.fx.lastUsed(a); !got.Time.Equal(want) {
			t.Errorf("older batch moved last_used_at to %v", got.Time)
		}

		// More ids than one statement takes.
		ids := make([]resayil.APIKeyID, 0, 1201)
		for i := range 1200 {
			ids = append(ids, resayil.APIKeyID(1_000_000+i))
		}
		ids = append(ids, c)
		before = e.log.Count()
		if err := e.store.MarkUsed(ctx, ids, at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if n := e.log.Count() - before; n != 3 {
			t.Errorf("%d statements for 1201 ids, want 3", n)
		}
		if got := e.fx.lastUsed(c); !got.Valid {
			t.Errorf("key in the last chunk not marked")
		}
	})
}

func equalPrincipal(a, b resayil.Principal) bool {
	return a.KeyID == b.KeyID && a.UserID == b.UserID && a.Account == b.Account && a.Subscribed == b.Subscribed &&
		a.PlanExpiresAt.Equal(b.PlanExpiresAt) && equalPlan(a.Plan, b.Plan)
}

func equalPlan(a, b resayil.Plan) bool {
	return a.Code == b.Code && a.Name == b.Name && a.RateLimitPerMinute == b.RateLimitPerMinute && slices.Equal(a.Classes, b.Classes) &&
		a.CloudAllowed == b.CloudAllowed && a.EnterpriseModels == b.EnterpriseModels && a.QueuePriority == b.QueuePriority &&
		a.SortOrder == b.SortOrder
}
