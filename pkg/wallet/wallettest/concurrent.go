package wallettest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Callers is how many goroutines race for a balance that pays for Fits
// requests: TestE2E_ConcurrentRequestsNeverOverspend (invariant 1) in
// miniature.
const (
	Callers = 200
	Fits    = 10
)

// testReserveNeverBelowZeroConcurrent is invariant 1 under real concurrency:
// 200 reservations released together against a balance for exactly 10 must
// yield exactly 10 holds, and settling them must leave exactly 0 and 10 usage
// records. A watcher reads the balance throughout and must never see it
// negative.
func testReserveNeverBelowZeroConcurrent(t *testing.T, h Harness) {
	const price resayil.Credits = 7
	ctx, acct, ids := setup(t, h, Fits*price)

	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			b, err := h.Wallet.Balance(ctx, acct)
			if err != nil {
				t.Errorf("Balance while reserving: %v", err)
				return
			}
			if b.Total < 0 || b.Held < 0 || b.Available < 0 {
				t.Errorf("Balance while reserving = %+v: below zero", b)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()

	var (
		mu      sync.Mutex
		granted []string
		refused atomic.Int64
		wg      sync.WaitGroup
	)
	start := make(chan struct{})
	for i := 0; i < Callers; i++ {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			<-start
			g, err := h.Wallet.Reserve(ctx, wallet.Hold{RequestID: id, Account: acct, Amount: price, MinAmount: price, Lease: time.Minute})
			switch {
			case err == nil && g == price:
				mu.Lock()
				granted = append(granted, id)
				mu.Unlock()
			case err == nil:
				t.Errorf("Reserve granted %d, want all-or-nothing %d", g, price)
			case resayil.ErrorCode(err) == resayil.EINSUFFICIENTCREDITS:
				if avail, ok := wallet.AvailableCredits(err); !ok || avail < 0 || avail >= price {
					t.Errorf("refusal carries available = %d, %v; want 0..%d", avail, ok, price-1)
				}
				refused.Add(1)
			default:
				t.Errorf("Reserve: %v (want success or insufficient credits, never another error)", err)
			}
		}(ids(fmt.Sprint(i)))
	}
	close(start)
	wg.Wait()
	close(stop)
	<-watched
	if len(granted) != Fits || refused.Load() != Callers-Fits {
		t.Fatalf("%d granted, %d refused; want exactly %d and %d", len(granted), refused.Load(), Fits, Callers-Fits)
	}
	wantBalance(t, h, acct, wallet.Balance{Total: Fits * price, Held: Fits * price, Available: 0})

	start = make(chan struct{})
	for _, id := range granted {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			<-start
			res, err := h.Wallet.Settle(ctx, settlement(id, acct, price))
			if err != nil || res.Charged != price || res.Shortfall != 0 || res.Replayed {
				t.Errorf("Settle(%s) = %+v, %v; want charged %d", id, res, err, price)
			}
		}(id)
	}
	close(start)
	wg.Wait()
	wantBalance(t, h, acct, wallet.Balance{})
	if n := h.UsageCount(t, acct); n != Fits {
		t.Fatalf("usage records = %d, want %d", n, Fits)
	}
}

// testSettleIsIdempotent is invariant 2 for debits: concurrent settlements
// of one request id debit once and record once, and every caller learns the
// same charge.
func testSettleIsIdempotent(t *testing.T, h Harness) {
	const settlers = 8
	ctx, acct, ids := setup(t, h, 100)
	reserve(t, h, wallet.Hold{RequestID: ids("a"), Account: acct, Amount: 30})

	var (
		wg     sync.WaitGroup
		first  atomic.Int64
		start  = make(chan struct{})
		s      = settlement(ids("a"), acct, 20)
		expect = wallet.SettleResult{Charged: 20, Shortfall: 0}
	)
	for i := 0; i < settlers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := h.Wallet.Settle(ctx, s)
			if err != nil {
				t.Errorf("Settle: %v", err)
				return
			}
			if !res.Replayed {
				first.Add(1)
			}
			if res.Charged != expect.Charged || res.Shortfall != expect.Shortfall {
				t.Errorf("Settle = %+v, want charged 20, shortfall 0", res)
			}
		}()
	}
	close(start)
	wg.Wait()
	if first.Load() != 1 {
		t.Fatalf("%d settlements were not replays, want exactly 1", first.Load())
	}
	// A later replay with another cost still reports the first settlement.
	s.Cost = 50
	wantSettle(t, h, s, wallet.SettleResult{Charged: 20, Balance: 80, Replayed: true})
	wantBalance(t, h, acct, wallet.Balance{Total: 80, Held: 0, Available: 80})
	if n := h.UsageCount(t, acct); n != 1 {
		t.Fatalf("usage records = %d, want 1", n)
	}
}

// testCreditOnceByReference is invariant 2 for grants: a payment whose
// webhook and callback arrive together credits once.
func testCreditOnceConcurrent(t *testing.T, h Harness) {
	const callers = 50
	ctx, acct, ids := setup(t, h, 0)
	g := wallet.Grant{Reference: "payment:" + ids("p1"), Account: acct, Amount: 100, Reason: "top-up"}

	var (
		wg      sync.WaitGroup
		applied atomic.Int64
		start   = make(chan struct{})
	)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := h.Wallet.Credit(ctx, g)
			if err != nil {
				t.Errorf("Credit: %v", err)
			}
			if ok {
				applied.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	if applied.Load() != 1 {
		t.Fatalf("%d of %d concurrent Credit calls applied the grant, want 1", applied.Load(), callers)
	}
	wantBalance(t, h, acct, wallet.Balance{Total: 100, Available: 100})

	grant(t, h, acct, "payment:"+ids("p2"), 100)
	if ok, err := h.Wallet.Credit(context.Background(), g); ok || err != nil {
		t.Fatalf("Credit of an applied reference = %v, %v; want false, nil", ok, err)
	}
	wantBalance(t, h, acct, wallet.Balance{Total: 200, Available: 200})
}
