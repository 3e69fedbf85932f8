package walletredis_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// BenchmarkReserveSettle is one request's wallet work in Redis mode: the two
// round trips (hold before the upstream call, settle after) the gateway's
// floor proxy also makes.
func BenchmarkReserveSettle(b *testing.B) {
	ctx := context.Background()
	env := testenv.Redis(b)
	w, err := walletredis.New(env.Client, &durable{}, walletredis.Config{Prefix: env.Prefix})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Credit(ctx, wallet.Grant{Reference: "admin:bench", Account: 1, Amount: 1 << 40}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		id := fmt.Sprint("bench-", i)
		if _, err := w.Reserve(ctx, wallet.Hold{RequestID: id, Account: 1, Amount: 500, MinAmount: 1}); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Settle(ctx, wallet.Settlement{RequestID: id, Account: 1, Cost: 42,
			Usage: wallet.Usage{Model: "m", Backend: "local", Status: "ok", TotalTokens: 42}}); err != nil {
			b.Fatal(err)
		}
	}
}
