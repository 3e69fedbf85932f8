package heartbeatredis_test

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/heartbeat"
	"github.com/resayil/portal/pkg/heartbeat/heartbeatredis"
	"github.com/resayil/portal/pkg/testenv"
)

// Read finds the heartbeats of its prefix through the index, not another
// deployment's (a prefix a glob would confuse with it); each key has the
// TTL given, and a removed or expired gateway leaves the index.
func TestPublishReadRemove(t *testing.T) {
	r := testenv.Redis(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	mine, other := r.Prefix+"d*:", r.Prefix+"dx:"
	for _, p := range []struct{ prefix, id string }{{mine, "a"}, {mine, "b"}, {other, "x"}} {
		if err := heartbeatredis.Publish(ctx, r.Client, p.prefix, heartbeat.Snapshot{Gateway: p.id, At: at}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	got, skipped, err := heartbeatredis.Read(ctx, r.Client, mine)
	if err != nil || skipped != 0 || len(got) != 2 || got[0].Gateway == "x" || got[1].Gateway == "x" {
		t.Fatalf("read %+v, %d skipped, %v", got, skipped, err)
	}
	if ttl := r.Client.PTTL(ctx, heartbeat.Key(mine, "a")).Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("TTL %s", ttl)
	}
	if err := heartbeatredis.Remove(ctx, r.Client, mine, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _, err := heartbeatredis.Read(ctx, r.Client, mine); err != nil || len(got) != 1 || got[0].Gateway != "b" {
		t.Fatalf("after Remove: %+v, %v", got, err)
	}
	// b's key expires (deleted here, as its TTL would): Read drops it from
	// the index.
	if err := r.Client.Del(ctx, heartbeat.Key(mine, "b")).Err(); err != nil {
		t.Fatal(err)
	}
	if got, _, err := heartbeatredis.Read(ctx, r.Client, mine); err != nil || len(got) != 0 {
		t.Fatalf("after expiry: %+v, %v", got, err)
	}
	if ids := r.Client.SMembers(ctx, heartbeat.IndexKey(mine)).Val(); len(ids) != 0 {
		t.Fatalf("index after expiry: %v", ids)
	}
	if ttl := r.Client.PTTL(ctx, heartbeat.IndexKey(other)).Val(); ttl <= 59*time.Minute || ttl > heartbeatredis.IndexTTL {
		t.Fatalf("index TTL %s", ttl)
	}
}
