package ledgerredis_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/portal-api/internal/ledger"
	"github.com/resayil/portal/portal-api/internal/ledger/ledgerredis"
)

// event is a usage event as Settle writes it (format version 5): version,
// request id, account, credits, shortfall, created at, alert (none), then
// api key, prompt, completion and total tokens, latency, ttfb, held
// credits, backend, status, model and the client's request id.
func event(id string, acct resayil.AccountID, credits int) map[string]any {
	return eventOf(walletredis.UsageVersion, id, acct, credits)
}

func eventOf(version, id string, acct resayil.AccountID, credits int) map[string]any {
	return map[string]any{"e": fmt.Sprintf("%s\x1f%s\x1f%d\x1f%d\x1f0\x1f1700000000000\x1f\x1f1\x1f10\x1f20\x1f30\x1f100\x1f10\x1f40\x1flocal\x1fok\x1fllama3.2:3b\x1f",
		version, id, acct, credits)}
}

// TestPendingUsage_EveryShardEveryPage reads more entries than one XRANGE
// page, from several shards' streams.
func TestPendingUsage_EveryShardEveryPage(t *testing.T) {
	ctx := context.Background()
	r := testenv.Redis(t)
	keys, err := walletredis.NewKeys(r.Prefix, 4)
	if err != nil {
		t.Fatal(err)
	}
	pipe := r.Client.Pipeline()
	const n = 2501
	want := map[resayil.AccountID]resayil.Credits{}
	for i := range n {
		acct := resayil.AccountID(i%3 + 1) // shards 1, 2 and 3; shard 0 stays empty
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: keys.UsageStream(acct), Values: event(fmt.Sprint("req-", i), acct, i%7)})
		want[acct] += resayil.Credits(i % 7)
		if i%500 == 0 {
			// A refusal's alert event: no usage, nothing to account for.
			pipe.XAdd(ctx, &redis.XAddArgs{Stream: keys.UsageStream(acct), Values: map[string]any{"a": fmt.Sprintf("1\x1f%d\x1fexhausted:1:0", acct)}})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := ledgerredis.NewUsage(r.Client, keys).PendingUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d events, want %d", len(got), n)
	}
	sums, ids := map[resayil.AccountID]resayil.Credits{}, map[string]bool{}
	for _, u := range got {
		sums[u.Account] += u.Credits
		ids[u.RequestID] = true
	}
	if fmt.Sprint(sums) != fmt.Sprint(want) || len(ids) != n {
		t.Fatalf("sums %v (%d ids), want %v (%d)", sums, len(ids), want, n)
	}
	var _ ledger.UsageSource = ledgerredis.NewUsage(r.Client, keys)
}

func TestPendingUsage_UndecodableEntryFails(t *testing.T) {
	ctx := context.Background()
	r := testenv.Redis(t)
	keys, err := walletredis.NewKeys(r.Prefix, 2)
	if err != nil {
		t.Fatal(err)
	}
	bad := eventOf("99", "req-bad", 1, 5)
	if err := r.Client.XAdd(ctx, &redis.XAddArgs{Stream: keys.UsageStream(1), Values: bad}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := ledgerredis.NewUsage(r.Client, keys).PendingUsage(ctx); err == nil || !strings.Contains(err.Error(), "format version") {
		t.Fatalf("error %v, want the entry's format version named", err)
	}
}
