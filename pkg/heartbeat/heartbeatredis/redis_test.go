package heartbeatredis_test

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/heartbeat"
	"github.com/resayil/portal/pkg/heartbeat/heartbeatredis"
	"github.com/resayil/portal/pkg/testenv"
)

// A prefix with glob characters matches only itself: another deployment
// whose prefix the pattern would match is not read.
func TestRead_PrefixIsLiteral(t *testing.T) {
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
}
