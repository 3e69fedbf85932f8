package redisscript_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/redisscript"
	"github.com/resayil/portal/pkg/testenv"
)

var incr = redis.NewScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`)

func TestQueued_RunsInThePipelineAndAfterAScriptFlush(t *testing.T) {
	env := testenv.Redis(t)
	ctx := context.Background()
	key := env.Prefix + "n"
	run := func() (int64, error) {
		p := env.Client.Pipeline()
		q := redisscript.Queue(ctx, p, env.Client, incr, []string{key}, 5)
		_, _ = p.Exec(ctx)
		return q.Reply(ctx).Int64()
	}
	if err := incr.Load(ctx, env.Client).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := run(); err != nil || n != 5 {
		t.Fatalf("in the pipeline: %d, %v; want 5", n, err)
	}
	// Another test's SCRIPT FLUSH, a restart or a failover: EVALSHA fails
	// with NOSCRIPT without running, and Reply runs the script once.
	if err := env.Client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := run(); err != nil || n != 10 {
		t.Fatalf("after SCRIPT FLUSH: %d, %v; want 10 (run exactly once)", n, err)
	}
	if n, err := run(); err != nil || n != 15 {
		t.Fatalf("once cached again: %d, %v; want 15", n, err)
	}
}
