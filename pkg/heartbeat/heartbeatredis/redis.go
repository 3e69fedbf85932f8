// Package heartbeatredis stores gateway heartbeats in Redis: one key per
// gateway, written with a TTL a few publishing intervals long, so a
// gateway that stops publishing disappears by itself.
package heartbeatredis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/heartbeat"
)

// Publish writes s under its gateway's key, replacing the previous one, to
// expire after ttl.
func Publish(ctx context.Context, c redis.Cmdable, prefix string, s heartbeat.Snapshot, ttl time.Duration) error {
	b, err := heartbeat.Encode(s)
	if err != nil {
		return err
	}
	if err := c.Set(ctx, heartbeat.Key(prefix, s.Gateway), b, ttl).Err(); err != nil {
		return fmt.Errorf("publish heartbeat: %w", err)
	}
	return nil
}

// Remove deletes gateway's heartbeat (a clean shutdown: the portal stops
// counting the gateway at once instead of after the TTL).
func Remove(ctx context.Context, c redis.Cmdable, prefix, gateway string) error {
	return c.Del(ctx, heartbeat.Key(prefix, gateway)).Err()
}

// Read returns every heartbeat stored under prefix, fresh or not (the
// caller judges freshness by its own clock), and the number of keys it
// skipped as unreadable (a format it does not know, a damaged value).
// Keys that expire between the scan and the read are simply absent.
func Read(ctx context.Context, c redis.UniversalClient, prefix string) ([]heartbeat.Snapshot, int, error) {
	match := escapeGlob(heartbeat.Key(prefix, "")) + "*"
	var keys []string
	iter := c.Scan(ctx, 0, match, 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		return nil, 0, fmt.Errorf("scan heartbeats: %w", err)
	}
	if len(keys) == 0 {
		return nil, 0, nil
	}
	// One GET per key in one pipeline rather than MGET, which Redis
	// Cluster refuses across hash slots.
	cmds := make([]*redis.StringCmd, len(keys))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.Get(ctx, k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("read heartbeats: %w", err)
	}
	var out []heartbeat.Snapshot
	skipped := 0
	for _, cmd := range cmds {
		b, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read heartbeats: %w", err)
		}
		s, err := heartbeat.Decode(b)
		if err != nil {
			skipped++
			continue
		}
		out = append(out, s)
	}
	return out, skipped, nil
}

// escapeGlob quotes the characters SCAN's MATCH treats as a pattern, so a
// prefix such as "a*" matches only itself.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\', '^', '-':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
