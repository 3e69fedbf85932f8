package ratelimitredis_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitredis"
	"github.com/resayil/portal/pkg/ratelimit/ratelimittest"
	"github.com/resayil/portal/pkg/testenv"
)

// pipelined is the limiter as the gateway drives it in Redis mode: Allow
// queued on a pipeline beside another command, read after Exec.
type pipelined struct {
	*ratelimitredis.Limiter
	client *redis.Client
}

func (p pipelined) Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error) {
	pipe := p.client.Pipeline()
	c := p.QueueAllow(ctx, pipe, key, limit)
	pipe.Ping(ctx)
	_, _ = pipe.Exec(ctx)
	return c.Result(ctx)
}

func TestConformance_Pipelined(t *testing.T) {
	ratelimittest.RunConformance(t, func(t *testing.T) ratelimit.Limiter {
		env := testenv.Redis(t)
		return pipelined{ratelimitredis.New(env.Client, ratelimitredis.Config{Prefix: env.Prefix}), env.Client}
	})
}

func TestPipelined_AfterScriptFlush(t *testing.T) {
	ctx, env := context.Background(), testenv.Redis(t)
	p := pipelined{ratelimitredis.New(env.Client, ratelimitredis.Config{Prefix: env.Prefix}), env.Client}
	lim := ratelimit.Limit{Requests: 2, Per: time.Hour}
	if err := env.Client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, true, false} {
		d, err := p.Allow(ctx, "k", lim)
		if err != nil || d.Allowed != want {
			t.Fatalf("call %d: %+v, %v; want allowed=%v", i, d, err, want)
		}
	}
}
