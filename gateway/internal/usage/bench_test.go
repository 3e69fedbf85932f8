package usage_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/usage"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

const (
	benchBatch    = 500
	benchAccounts = 50
)

// benchAccountsIn creates accounts with wallets that never run dry.
func benchAccountsIn(b *testing.B, db *database.DB) []resayil.AccountID {
	b.Helper()
	now := time.Now().UTC()
	out := make([]resayil.AccountID, benchAccounts)
	for i := range out {
		res, err := db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, now, now)
		if err != nil {
			b.Fatal(err)
		}
		id, _ := res.LastInsertId()
		if _, err := db.SQL.Exec(`INSERT INTO wallets (account_id, balance_credits, held_credits, updated_at) VALUES (?, ?, 0, ?)`, id, int64(1)<<50, now); err != nil {
			b.Fatal(err)
		}
		out[i] = resayil.AccountID(id)
	}
	return out
}

// BenchmarkWriteBatch measures one database batch: a multi-row INSERT of
// benchBatch usage records and the debits of benchAccounts accounts, in one
// transaction.
func BenchmarkWriteBatch(b *testing.B) {
	for _, backend := range testenv.Backends {
		b.Run(string(backend), func(b *testing.B) {
			db, _ := testenv.Open(b, backend)
			accounts := benchAccountsIn(b, db)
			rows := make([]walletredis.Usage, benchBatch)
			now := time.Now().UTC()
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range rows {
					rows[j] = walletredis.Usage{RequestID: fmt.Sprintf("b-%d-%d", i, j), Account: accounts[j%benchAccounts], Credits: 3,
						CreatedAt: now, Usage: wallet.Usage{Model: "llama3.2:3b", Backend: "local", Status: "ok", TotalTokens: 42}}
				}
				n, _, err := usage.WriteBatch(ctx, db, rows)
				if err != nil || n != benchBatch {
					b.Fatalf("WriteBatch = %d, %v", n, err)
				}
			}
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// BenchmarkWriter_EndToEnd measures a running Writer draining benchBatch
// events per iteration from the Redis streams into the database.
func BenchmarkWriter_EndToEnd(b *testing.B) {
	for _, backend := range testenv.Backends {
		b.Run(string(backend), func(b *testing.B) {
			env := testenv.Redis(b)
			db, _ := testenv.Open(b, backend)
			accounts := benchAccountsIn(b, db)
			keys, err := walletredis.NewKeys(env.Prefix, 0)
			if err != nil {
				b.Fatal(err)
			}
			w, err := usage.New(env.Client, db, usage.Config{Prefix: env.Prefix, FlushInterval: 50 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close(context.Background())
			ctx := context.Background()
			ms := strconv.FormatInt(time.Now().UnixMilli(), 10)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pipe := env.Client.Pipeline()
				for j := range benchBatch {
					a := accounts[j%benchAccounts]
					// As the settle script writes it (walletredis, version 5):
					// version, request id, account, credits, shortfall,
					// created at, alert (none), api key, prompt, completion,
					// total, latency, ttfb, held, backend, status, model,
					// client id.
					pipe.XAdd(ctx, &redis.XAddArgs{Stream: keys.UsageStream(a), Values: []any{"e", walletredis.UsageVersion +
						"\x1f" + fmt.Sprintf("e-%d-%d", i, j) + "\x1f" + strconv.FormatInt(int64(a), 10) + "\x1f3\x1f0\x1f" + ms +
						"\x1f\x1f7\x1f10\x1f32\x1f42\x1f120\x1f30\x1f40\x1flocal\x1fok\x1fllama3.2:3b\x1f"}})
				}
				if _, err := pipe.Exec(ctx); err != nil {
					b.Fatal(err)
				}
				want := int64((i + 1) * benchBatch)
				deadline := time.Now().Add(time.Minute)
				for w.Stats().Written < want {
					if time.Now().After(deadline) {
						b.Fatalf("written %d, want %d", w.Stats().Written, want)
					}
					time.Sleep(time.Millisecond)
				}
			}
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "rows/s")
			st := w.Stats()
			b.ReportMetric(float64(st.Written)/float64(st.Batches), "rows/batch")
		})
	}
}
