package cloudbudgetredis_test

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgetredis"
	"github.com/resayil/portal/pkg/cloudbudget/cloudbudgettest"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

func TestConformance(t *testing.T) {
	env := testenv.Redis(t)
	cloudbudgettest.RunConformance(t, func(t *testing.T, defaultCap int64) cloudbudget.Store {
		s, err := cloudbudgetredis.New(env.Client, cloudbudgetredis.Config{Prefix: env.Prefix, DefaultCap: defaultCap})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestKeysExpire(t *testing.T) {
	env := testenv.Redis(t)
	s, err := cloudbudgetredis.New(env.Client, cloudbudgetredis.Config{Prefix: env.Prefix, DefaultCap: 5})
	if err != nil {
		t.Fatal(err)
	}
	d := cloudbudgettest.NewDay(t)
	if _, _, err := s.Take(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	ttl := env.Client.PTTL(context.Background(), s.Key(d)).Val()
	if ttl <= 0 || ttl > cloudbudgetredis.Retention || ttl < cloudbudgetredis.Retention-time.Minute {
		t.Fatalf("TTL %s, want about %s", ttl, cloudbudgetredis.Retention)
	}
}

func TestUnreachableRedisIsUnavailable(t *testing.T) {
	env := testenv.Redis(t)
	s, err := cloudbudgetredis.New(env.Client, cloudbudgetredis.Config{Prefix: env.Prefix, DefaultCap: 5})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Take(ctx, cloudbudgettest.NewDay(t)); resayil.ErrorCode(err) != resayil.EUNAVAILABLE {
		t.Fatalf("Take on a dead connection: %v, want unavailable", err)
	}
	if _, err := cloudbudgetredis.New(env.Client, cloudbudgetredis.Config{Prefix: "a{b}"}); err == nil {
		t.Fatal("a prefix with braces was accepted")
	}
}
