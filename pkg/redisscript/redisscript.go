// Package redisscript queues a Lua script on a caller's pipeline, so that
// scripts of different packages (the rate limit, the wallet, the capacity
// store) travel in one round trip, and answers as a plain Script.Run would:
// EVALSHA in the pipeline, and EVAL when Redis had lost its script cache.
package redisscript

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// Queued is a script queued on a pipeline.
type Queued struct {
	script *redis.Script
	client redis.Scripter
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// Queue adds s with keys and args to p as EVALSHA; client runs the EVAL
// that Reply may need.
func Queue(ctx context.Context, p redis.Pipeliner, client redis.Scripter, s *redis.Script, keys []string, args ...any) Queued {
	return Queued{script: s, client: client, keys: keys, args: args, cmd: s.EvalSha(ctx, p, keys, args...)}
}

// Reply is the script's answer once the pipeline ran. When Redis had lost
// its script cache (NOSCRIPT, after a restart or a failover: the script did
// not run) it runs it once more with EVAL, which caches it again.
func (q Queued) Reply(ctx context.Context) *redis.Cmd {
	if err := q.cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		return q.script.Eval(ctx, q.client, q.keys, q.args...)
	}
	return q.cmd
}
