package capacityredis_test

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/capacity/capacityredis"
	"github.com/resayil/portal/gateway/internal/capacity/capacitytest"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

func TestConformance(t *testing.T) {
	capacitytest.RunConformance(t, func(t *testing.T) capacitytest.Harness {
		env := testenv.Redis(t)
		clock := capacitytest.NewClock()
		const slot, wait = 30 * time.Second, 5 * time.Second
		return capacitytest.Harness{
			New: func(t *testing.T) capacity.Store {
				s, err := capacityredis.New(env.Client, capacityredis.Config{Prefix: env.Prefix, SlotLease: slot, WaitLease: wait, Now: clock.Now})
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Clock: clock, SlotLease: slot, WaitLease: wait,
		}
	})
}

func TestKeysHaveTTLAndOneSlot(t *testing.T) {
	env := testenv.Redis(t)
	s, err := capacityredis.New(env.Client, capacityredis.Config{Prefix: env.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hs := []capacity.Host{{ID: "http://gpu1:11434", Slots: 1}}
	for _, id := range []string{"x", "y"} {
		if _, err := s.Enter(ctx, hs, capacity.Entry{ID: id, Hosts: []string{"http://gpu1:11434"}}); err != nil {
			t.Fatal(err)
		}
	}
	keys := env.Client.Keys(ctx, env.Prefix+"*").Val()
	if len(keys) < 4 {
		t.Fatalf("keys %v", keys)
	}
	for _, k := range keys {
		if ttl := env.Client.PTTL(ctx, k).Val(); ttl <= 0 {
			t.Errorf("key %s has no TTL", k)
		}
		if slot, want := env.Client.ClusterKeySlot(ctx, k).Val(), env.Client.ClusterKeySlot(ctx, s.Channel()).Val(); slot != want {
			t.Errorf("key %s in slot %d, want %d", k, slot, want)
		}
	}
	if _, err := capacityredis.New(env.Client, capacityredis.Config{Prefix: "{x}"}); err == nil {
		t.Fatal("braces accepted")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Enter(cctx, hs, capacity.Entry{ID: "z", Hosts: []string{"x"}}); resayil.ErrorCode(err) != resayil.EUNAVAILABLE {
		t.Fatalf("dead context: %v", err)
	}
}
