// Package ratelimitredis is the ratelimit.Limiter of the production mode: all
// gateway replicas (and portal-api instances) share one limit per key through
// Redis, so running three replicas does not triple anyone's limit.
//
// Each call is one EVALSHA of a GCRA Lua script on one key (see lua.go for
// why a script and why the server's clock). Keys:
//
//	<Prefix>resayil:ratelimit2:<key>   string "tat:iv", TTL = time until refilled
//
// (resayil:ratelimit:<key> held a hash {tat, iv} before; the new name keeps
// replicas of both versions from reading each other's keys during an
// upgrade, at the price of one window in which each counts on its own.)
//
// A Redis failure is returned as resayil.EUNAVAILABLE so the gateway answers
// 503 instead of letting requests through unlimited.
package ratelimitredis

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/redisscript"
	"github.com/resayil/portal/pkg/resayil"
)

// KeySpace is the part of every key between Config.Prefix and the caller's key.
const KeySpace = "resayil:ratelimit2:"

// Config tunes a Limiter; the zero value is ready for production.
type Config struct {
	// Prefix is prepended to every key: a per-deployment namespace sharing
	// one Redis, or testenv's per-test prefix.
	Prefix string
}

// Limiter is a Redis-backed GCRA limiter, safe for concurrent use and across
// processes.
type Limiter struct {
	client redis.Cmdable
	base   string
}

var _ ratelimit.Limiter = (*Limiter)(nil)

// New returns a Limiter storing its keys in client (a *redis.Client,
// *redis.ClusterClient or *redis.Ring).
func New(client redis.Cmdable, cfg Config) *Limiter {
	return &Limiter{client: client, base: cfg.Prefix + KeySpace}
}

// Key returns the Redis key that holds key's state.
func (l *Limiter) Key(key string) string { return l.base + key }

// Allow implements ratelimit.Limiter.
func (l *Limiter) Allow(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error) {
	return l.AllowN(ctx, key, limit, 1)
}

// AllowN implements ratelimit.Limiter.
func (l *Limiter) AllowN(ctx context.Context, key string, limit ratelimit.Limit, n int) (ratelimit.Decision, error) {
	if err := limit.ValidateN(n); err != nil {
		return ratelimit.Decision{}, err
	}
	return l.run(ctx, key, limit, n)
}

// Peek implements ratelimit.Limiter.
func (l *Limiter) Peek(ctx context.Context, key string, limit ratelimit.Limit) (ratelimit.Decision, error) {
	if err := limit.Validate(); err != nil {
		return ratelimit.Decision{}, err
	}
	return l.run(ctx, key, limit, 0)
}

// Reset implements ratelimit.Limiter.
func (l *Limiter) Reset(ctx context.Context, key string) error {
	if err := l.client.Del(ctx, l.Key(key)).Err(); err != nil {
		return unavailable("reset", err)
	}
	return nil
}

func (l *Limiter) run(ctx context.Context, key string, limit ratelimit.Limit, n int) (ratelimit.Decision, error) {
	iv := (limit.Per / time.Duration(limit.Requests)).Microseconds()
	// Run sends EVALSHA and falls back to EVAL (which caches the script)
	// when the server answers NOSCRIPT, e.g. after a restart or failover.
	res, err := gcraScript.Run(ctx, l.client, []string{l.Key(key)}, iv, limit.Requests, n).Int64Slice()
	return decision(limit, res, err)
}

func decision(limit ratelimit.Limit, res []int64, err error) (ratelimit.Decision, error) {
	if err != nil {
		return ratelimit.Decision{}, unavailable("allow", err)
	}
	if len(res) != 4 {
		return ratelimit.Decision{}, fmt.Errorf("ratelimitredis: script returned %d values, want 4", len(res))
	}
	return ratelimit.Decision{
		Allowed:    res[0] == 1,
		Limit:      limit.Requests,
		Remaining:  int(res[1]),
		ResetAfter: time.Duration(res[2]) * time.Microsecond,
		RetryAfter: time.Duration(res[3]) * time.Microsecond,
	}, nil
}

// AllowCmd is an Allow queued on a pipeline.
type AllowCmd struct {
	limit ratelimit.Limit
	q     redisscript.Queued
	err   error
}

// QueueAllow queues Allow(key, limit) on p, so that the gateway sends it
// in one round trip with the credit hold; call Result after p's Exec. The
// script touches one key: on a *redis.ClusterClient the pipeline is split
// per node, never a cross-slot script.
func (l *Limiter) QueueAllow(ctx context.Context, p redis.Pipeliner, key string, limit ratelimit.Limit) *AllowCmd {
	if err := limit.ValidateN(1); err != nil {
		return &AllowCmd{err: err}
	}
	return &AllowCmd{limit: limit, q: redisscript.Queue(ctx, p, l.client, gcraScript, []string{l.Key(key)},
		(limit.Per / time.Duration(limit.Requests)).Microseconds(), limit.Requests, 1)}
}

// Result is Allow's answer. When Redis had lost its script cache
// (NOSCRIPT: the script did not run) it runs it once more with EVAL.
func (c *AllowCmd) Result(ctx context.Context) (ratelimit.Decision, error) {
	if c.err != nil {
		return ratelimit.Decision{}, c.err
	}
	res, err := c.q.Reply(ctx).Int64Slice()
	return decision(c.limit, res, err)
}

// unavailable keeps the Redis error in the chain (for logs and errors.Is)
// and adds the code the gateway and portal map to 503.
func unavailable(op string, err error) error {
	return fmt.Errorf("ratelimitredis: %s: %w: %w", op,
		resayil.Errorf(resayil.EUNAVAILABLE, "Rate limiting is temporarily unavailable. Please retry shortly."), err)
}
