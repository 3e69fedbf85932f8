package walletsql_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// BenchmarkReserveSettle is one request's wallet work in embedded mode: a
// hold before the upstream call, the debit and usage record after it.
func BenchmarkReserveSettle(b *testing.B) {
	for _, backend := range testenv.Backends {
		b.Run(string(backend), func(b *testing.B) {
			ctx := context.Background()
			db, _ := testenv.Open(b, backend)
			w := walletsql.New(db, walletsql.Config{})
			acct := newAccount(b, db)
			if _, err := w.Credit(ctx, wallet.Grant{Reference: "admin:bench", Account: acct, Amount: 1 << 40}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				id := fmt.Sprint("bench-", i)
				if _, err := w.Reserve(ctx, wallet.Hold{RequestID: id, Account: acct, Amount: 500, MinAmount: 1}); err != nil {
					b.Fatal(err)
				}
				if _, err := w.Settle(ctx, wallet.Settlement{RequestID: id, Account: acct, Cost: 42,
					Usage: wallet.Usage{Model: "m", Backend: "local", Status: "ok", TotalTokens: 42}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
