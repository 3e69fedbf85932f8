// Package heartbeatredis stores gateway heartbeats in Redis: one key per
// gateway, written with a TTL a few publishing intervals long, so a
// gateway that stops publishing disappears by itself, and a set of the
// gateway ids (heartbeat.IndexKey) through which readers find the keys
// without scanning the key space.
package heartbeatredis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/heartbeat"
)

// IndexTTL is the least the index of gateway ids lives after a gateway
// publishes.
const IndexTTL = time.Hour

// Publish writes s under its gateway's key, replacing the previous one, to
// expire after ttl, and lists the gateway in the index. The index lives
// IndexTTL past the latest publication (at least ttl), so that a gateway
// publishing with a short TTL never expires the index under one
// publishing with a longer one; ids whose key expired are pruned by Read.
func Publish(ctx context.Context, c redis.Cmdable, prefix string, s heartbeat.Snapshot, ttl time.Duration) error {
	b, err := heartbeat.Encode(s)
	if err != nil {
		return err
	}
	idx := heartbeat.IndexKey(prefix)
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, heartbeat.Key(prefix, s.Gateway), b, ttl)
		p.SAdd(ctx, idx, s.Gateway)
		p.PExpire(ctx, idx, max(ttl, IndexTTL))
		return nil
	})
	if err != nil {
		return fmt.Errorf("publish heartbeat: %w", err)
	}
	return nil
}

// Remove deletes gateway's heartbeat (a clean shutdown: the portal stops
// counting the gateway at once instead of after the TTL).
func Remove(ctx context.Context, c redis.Cmdable, prefix, gateway string) error {
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, heartbeat.Key(prefix, gateway))
		p.SRem(ctx, heartbeat.IndexKey(prefix), gateway)
		return nil
	})
	return err
}

// Read returns every heartbeat stored under prefix, fresh or not (the
// caller judges freshness by its own clock), and the number it skipped as
// unreadable (a format it does not know, a damaged value). Gateways whose
// key has expired are dropped from the index.
func Read(ctx context.Context, c redis.Cmdable, prefix string) ([]heartbeat.Snapshot, int, error) {
	idx := heartbeat.IndexKey(prefix)
	ids, err := c.SMembers(ctx, idx).Result()
	if err != nil {
		return nil, 0, fmt.Errorf("list heartbeats: %w", err)
	}
	if len(ids) == 0 {
		return nil, 0, nil
	}
	// One GET per key in one pipeline rather than MGET, which Redis
	// Cluster refuses across hash slots.
	cmds := make([]*redis.StringCmd, len(ids))
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, heartbeat.Key(prefix, id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("read heartbeats: %w", err)
	}
	var out []heartbeat.Snapshot
	var gone []any
	skipped := 0
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			gone = append(gone, ids[i])
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
	if len(gone) > 0 {
		// Best effort: a gateway that publishes again re-adds itself.
		_ = c.SRem(ctx, idx, gone...).Err()
	}
	return out, skipped, nil
}
