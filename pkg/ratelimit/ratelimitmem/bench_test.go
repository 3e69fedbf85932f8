package ratelimitmem_test

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitmem"
)

// BenchmarkAllow is the gateway's per-request cost for one account.
func BenchmarkAllow(b *testing.B) {
	l := ratelimitmem.New(ratelimitmem.Config{})
	ctx, lim := context.Background(), ratelimit.Limit{Requests: 1 << 30, Per: time.Hour}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Allow(ctx, "acct-1", lim); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAllow_Parallel is many accounts at once across all cores.
func BenchmarkAllow_Parallel(b *testing.B) {
	l := ratelimitmem.New(ratelimitmem.Config{})
	ctx, lim := context.Background(), ratelimit.PerMinute(60)
	keys := make([]string, 10_000)
	for i := range keys {
		keys[i] = "acct-" + strconv.Itoa(i)
	}
	var next atomic.Uint64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := next.Add(1) * 7919
		for pb.Next() {
			i++
			if _, err := l.Allow(ctx, keys[i%uint64(len(keys))], lim); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
