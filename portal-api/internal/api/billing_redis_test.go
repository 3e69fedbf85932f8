package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// TestRedisMode_PaymentAndAdjustments runs billing with Redis as the live
// wallet (production): a paid payment is committed to the ledger first and
// then credited live once by its reference; an admin debit reserves the
// live credits, commits a negative ledger row and withdraws them live; and
// `ledger verify` (with the live balances) holds after each.
func TestRedisMode_PaymentAndAdjustments(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			r := testenv.Redis(t)
			s := newShop(t, b, "RESAYIL_REDIS_URL="+r.URL, "RESAYIL_REDIS_PREFIX="+r.Prefix)
			live, err := walletredis.New(r.Client, walletsql.NewLoader(s.DB), walletredis.Config{Prefix: r.Prefix})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			c, u := s.SignUp(t, "redis")
			acct := resayil.AccountID(u.AccountID)

			p := s.topup(t, c, "topup-5k")
			paymentID := s.pay(t, p.invoice)
			wr := s.webhook(t, p.invoice)
			var (
				wg   sync.WaitGroup
				errs goErrs
			)
			for range 5 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if st := errs.status(s.tryDeliver(wr.Body, wr.Header.Get("MyFatoorah-Signature"))); st != http.StatusOK {
						errs.add(fmt.Errorf("webhook answered %d", st))
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.tryBrowse(paymentID)
				errs.add(err)
			}()
			wg.Wait()
			errs.report(t)
			lb, err := live.Balance(ctx, acct)
			if err != nil {
				t.Fatal(err)
			}
			if lb.Total != 5000 || billingOf(t, c).BalanceCredits != 5000 {
				t.Fatalf("live balance %d, want 5000", lb.Total)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM credit_ledger WHERE account_id = ? AND live_applied_at IS NULL", u.AccountID); n != 0 {
				t.Errorf("%d grants not marked live", n)
			}
			s.verify(t)

			admin := s.adminClient(t)
			var got adjusted
			admin.Do(t, adjust(u.ID, -1000, "redis debit")).Want(t, http.StatusCreated).JSON(t, &got)
			if !got.Live || got.BalanceCredits != 4000 {
				t.Errorf("debit: %+v", got)
			}
			s.verify(t)

			// A request in flight holds 3500 live: only 500 may be taken,
			// although the database still says 4000.
			if _, err := live.Reserve(ctx, wallet.Hold{RequestID: "req-in-flight", Account: acct, Amount: 3500}); err != nil {
				t.Fatal(err)
			}
			e := admin.Do(t, adjust(u.ID, -501, "too much")).Want(t, http.StatusConflict).Error(t)
			if !strings.Contains(e.Message, "500 credits available") {
				t.Errorf("%+v", e)
			}
			admin.Do(t, adjust(u.ID, -500, "all that is free")).Want(t, http.StatusCreated).JSON(t, &got)
			if _, err := live.Release(ctx, acct, "req-in-flight"); err != nil {
				t.Fatal(err)
			}
			if lb, _ := live.Balance(ctx, acct); lb.Total != 3500 || lb.Held != 0 {
				t.Errorf("live balance %+v, want 3500 and nothing held", lb)
			}
			if n := s.count(t, "SELECT balance_credits FROM wallets WHERE account_id = ?", u.AccountID); n != 3500 {
				t.Errorf("durable balance %d", n)
			}
			s.verify(t)
		})
	}
}
