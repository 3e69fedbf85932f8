package walletredis_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/wallettest"
)

func newWithdrawWallet(t *testing.T) (*walletredis.Wallet, *durable, *wallettest.Clock) {
	t.Helper()
	env := testenv.Redis(t)
	d := &durable{}
	clock := wallettest.NewClock()
	w, err := walletredis.New(env.Client, d, walletredis.Config{Prefix: env.Prefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return w, d, clock
}

func wantLive(t *testing.T, w *walletredis.Wallet, acct resayil.AccountID, total, held resayil.Credits) {
	t.Helper()
	b, err := w.Balance(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	if b.Total != total || b.Held != held {
		t.Fatalf("balance %+v, want total %d held %d", b, total, held)
	}
}

func TestWithdraw(t *testing.T) {
	ctx := context.Background()
	t.Run("OnceByReference_Concurrent", func(t *testing.T) {
		w, d, _ := newWithdrawWallet(t)
		d.set(7, 100)
		var applied atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := w.Withdraw(ctx, wallet.Grant{Reference: "admin:x", Account: 7, Amount: 30})
				if err != nil {
					t.Error(err)
				}
				if ok {
					applied.Add(1)
				}
			}()
		}
		wg.Wait()
		if applied.Load() != 1 {
			t.Fatalf("applied %d times, want 1", applied.Load())
		}
		wantLive(t, w, 7, 70, 0)
	})
	t.Run("NeverBelowZero", func(t *testing.T) {
		w, d, _ := newWithdrawWallet(t)
		d.set(8, 50)
		if _, err := w.Reserve(ctx, wallet.Hold{RequestID: "req", Account: 8, Amount: 30}); err != nil {
			t.Fatal(err)
		}
		_, err := w.Withdraw(ctx, wallet.Grant{Reference: "admin:y", Account: 8, Amount: 21})
		if got, ok := wallet.AvailableCredits(err); !ok || got != 20 || resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS {
			t.Fatalf("withdraw above available: %v (available %d)", err, got)
		}
		wantLive(t, w, 8, 50, 30)
		// Refused is not remembered: the same reference applies once it fits.
		if ok, err := w.Withdraw(ctx, wallet.Grant{Reference: "admin:y", Account: 8, Amount: 20}); err != nil || !ok {
			t.Fatalf("withdraw within available: %v %v", ok, err)
		}
		wantLive(t, w, 8, 30, 30)
	})
	t.Run("ConsumesItsOwnHold", func(t *testing.T) {
		w, d, _ := newWithdrawWallet(t)
		d.set(9, 40)
		if _, err := w.Reserve(ctx, wallet.Hold{RequestID: "admin:z", Account: 9, Amount: 40, MinAmount: 40}); err != nil {
			t.Fatal(err)
		}
		if ok, err := w.Withdraw(ctx, wallet.Grant{Reference: "admin:z", Account: 9, Amount: 40}); err != nil || !ok {
			t.Fatalf("withdraw of a reserved amount: %v %v", ok, err)
		}
		wantLive(t, w, 9, 0, 0)
	})
	t.Run("ExpiredHoldsDoNotBlock", func(t *testing.T) {
		w, d, clock := newWithdrawWallet(t)
		d.set(10, 10)
		if _, err := w.Reserve(ctx, wallet.Hold{RequestID: "dead", Account: 10, Amount: 10}); err != nil {
			t.Fatal(err)
		}
		clock.Advance(2 * wallet.DefaultLease)
		if ok, err := w.Withdraw(ctx, wallet.Grant{Reference: "admin:w", Account: 10, Amount: 10}); err != nil || !ok {
			t.Fatalf("withdraw past an expired hold: %v %v", ok, err)
		}
		wantLive(t, w, 10, 0, 0)
	})
}
