package keyauth_test

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/pkg/resayil"
)

// BenchmarkAuthenticate_Warm is the per-request cost of a cached key: parse
// the header, SHA-256 the key, read the cache, apply the plan expiry.
func BenchmarkAuthenticate_Warm(b *testing.B) {
	a, header := warmAuthenticator(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, header); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate_WarmParallel is the same from every core at once.
func BenchmarkAuthenticate_WarmParallel(b *testing.B) {
	a, header := warmAuthenticator(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := a.Authenticate(ctx, header); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAuthenticate_WarmTouch adds recording the key's last use.
func BenchmarkAuthenticate_WarmTouch(b *testing.B) {
	f := keyauth.NewLastUsedFlusher(&usageLog{}, keyauth.LastUsedConfig{Interval: time.Hour})
	b.Cleanup(func() { _ = f.Close(context.Background()) })
	a, header := warmAuthenticator(b, f)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(ctx, header); err != nil {
			b.Fatal(err)
		}
	}
}

func warmAuthenticator(b *testing.B, f *keyauth.LastUsedFlusher) (*keyauth.Authenticator, string) {
	b.Helper()
	store := newKeyTable()
	key := "sk-" + "4fJ8kQ2mN7pR1sT5vW9xZ3bD6gH0jL4nP8qS2uY6aC9e"
	p := principal(1, 10, 100)
	p.Plan, p.Subscribed, p.PlanExpiresAt = proPlan, true, time.Now().Add(time.Hour)
	store.put(key, p)
	// A full cache of other keys, so the map is realistic.
	a, err := keyauth.New(store, keyauth.Config{LastUsed: f, Plans: keyauth.NewPlanSet(&planList{})})
	if err != nil {
		b.Fatal(err)
	}
	for i := range 10_000 {
		k := "sk-other" + string(rune('a'+i%26)) + time.Duration(i).String() + "xxxxxxxxxxxxxxxxxxxxxx"
		store.put(k, principal(int64(i+2), resayil.AccountID(i), 1))
		_, _ = a.Authenticate(context.Background(), "Bearer "+k)
	}
	header := "Bearer " + key
	if _, err := a.Authenticate(context.Background(), header); err != nil {
		b.Fatal(err)
	}
	return a, header
}
