package ratelimitredis_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitredis"
	"github.com/resayil/portal/pkg/ratelimit/ratelimittest"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

func TestConformance(t *testing.T) {
	ratelimittest.RunConformance(t, func(t *testing.T) ratelimit.Limiter {
		env := testenv.Redis(t)
		return ratelimitredis.New(env.Client, ratelimitredis.Config{Prefix: env.Prefix})
	})
}

// newClient opens a connection pool of its own, as another gateway process
// would have.
func newClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestAllow_ExactAcrossThreeReplicas(t *testing.T) {
	env := testenv.Redis(t)
	var replicas []ratelimit.Limiter
	for range 3 {
		replicas = append(replicas, ratelimitredis.New(newClient(t, env.URL), ratelimitredis.Config{Prefix: env.Prefix}))
	}
	// Enterprise's 60, per hour so that nothing refills during the test.
	lim := ratelimit.Limit{Requests: 60, Per: time.Hour}
	for _, key := range []string{"acct-1", "acct-2"} {
		if got := ratelimittest.ConcurrentAllow(t, replicas, key, lim, 300); got != 60 {
			t.Fatalf("%s: 3 replicas admitted %d of 300, want exactly 60", key, got)
		}
	}
}

func TestKeyLayout(t *testing.T) {
	ctx, env := context.Background(), testenv.Redis(t)
	l := ratelimitredis.New(env.Client, ratelimitredis.Config{Prefix: env.Prefix})
	key := env.Prefix + "resayil:ratelimit2:acct-7"
	if got := l.Key("acct-7"); got != key {
		t.Fatalf("Key = %q, want %q", got, key)
	}
	lim := ratelimit.PerMinute(10)

	if _, err := l.Peek(ctx, "acct-7", lim); err != nil {
		t.Fatal(err)
	}
	if n := env.Client.Exists(ctx, key).Val(); n != 0 {
		t.Fatalf("Peek on a fresh key created it")
	}

	d, err := l.Allow(ctx, "acct-7", lim)
	if err != nil || !d.Allowed {
		t.Fatalf("Allow = %+v, %v", d, err)
	}
	value, err := env.Client.Get(ctx, key).Result()
	tatText, iv, ok := strings.Cut(value, ":")
	if err != nil || !ok || iv != "6000000" {
		t.Fatalf("GET %s = %q, %v; want \"<tat>:6000000\"", key, value, err)
	}
	tat, _ := time.ParseDuration(tatText + "us")
	serverNow, err := env.Client.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	// tat is in the Redis server's microseconds, one interval ahead.
	if ahead := tat - time.Duration(serverNow.UnixMicro())*time.Microsecond; ahead <= 0 || ahead > 6*time.Second {
		t.Errorf("tat is %s ahead of the server's TIME, want in (0, 6s]", ahead)
	}
	if ttl := env.Client.PTTL(ctx, key).Val(); ttl <= 0 || ttl > 6*time.Second {
		t.Errorf("PTTL = %s, want in (0, 6s]: the key lives until refilled", ttl)
	}

	if err := l.Reset(ctx, "acct-7"); err != nil {
		t.Fatal(err)
	}
	if n := env.Client.Exists(ctx, key).Val(); n != 0 {
		t.Fatalf("Reset left %s", key)
	}
}

func TestAllow_RedisDownIsUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	l := ratelimitredis.New(c, ratelimitredis.Config{})
	ctx := context.Background()

	d, err := l.Allow(ctx, "acct-1", ratelimit.PerMinute(10))
	if code := resayil.ErrorCode(err); code != resayil.EUNAVAILABLE || d.Allowed {
		t.Fatalf("Allow with Redis down = %+v, %v (code %q); want refused with %q", d, err, code, resayil.EUNAVAILABLE)
	}
	if code := resayil.ErrorCode(l.Reset(ctx, "acct-1")); code != resayil.EUNAVAILABLE {
		t.Fatalf("Reset with Redis down: code %q, want %q", code, resayil.EUNAVAILABLE)
	}
}

// BenchmarkAllow is one EVALSHA round trip to the local Redis.
func BenchmarkAllow(b *testing.B) {
	env := testenv.Redis(b)
	l := ratelimitredis.New(env.Client, ratelimitredis.Config{Prefix: env.Prefix})
	ctx, lim := context.Background(), ratelimit.Limit{Requests: 1 << 30, Per: time.Hour}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(ctx, "acct-1", lim); err != nil {
			b.Fatal(err)
		}
	}
}
