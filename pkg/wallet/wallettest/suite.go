// Package wallettest is the conformance suite every wallet.Wallet
// implementation runs (docs/architecture.md "Two ways to run"; after
// go-cloud's drivertest): the same behaviours, concurrency included, against
// SQLite, MariaDB and Redis, so the gateway above the interface behaves the
// same in both modes.
//
// An implementation's test calls RunConformance with a function that builds
// a fresh Harness for each subtest:
//
//	func TestConformance(t *testing.T) {
//		wallettest.RunConformance(t, func(t *testing.T) wallettest.Harness { ... })
//	}
//
// Accounts are funded through Wallet.Credit, itself part of the contract.
// The concurrency subtests use real goroutines released together, so they
// are meant for `go test -race` against the real store.
package wallettest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Harness is one wallet under test and what the suite needs around it.
type Harness struct {
	// Wallet is the implementation under test. Its time source must be
	// Clock.Now.
	Wallet wallet.Wallet
	// Clock is advanced by the suite to expire leases.
	Clock *Clock
	// NewAccount returns an account with no wallet yet (in SQL stores, an
	// accounts row), distinct from every account the suite used before.
	NewAccount func(t *testing.T) resayil.AccountID
	// UsageCount returns how many usage records (rows or stream events)
	// the account has.
	UsageCount func(t *testing.T, account resayil.AccountID) int
	// Alerts returns the balance alerts the wallet raised for the account
	// (outbox rows, or alert-carrying stream events), in any order.
	Alerts func(t *testing.T, account resayil.AccountID) []wallet.Alert
}

// RunConformance runs every behaviour of the wallet contract as a subtest,
// each on a harness from newWallet.
func RunConformance(t *testing.T, newWallet func(t *testing.T) Harness) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"ReserveNeverBelowZero_Concurrent", testReserveNeverBelowZeroConcurrent},
		{"ReserveGrantsPartialUpToAvailable", testReserveGrantsPartial},
		{"ReserveIsIdempotentByRequestID", testReserveIdempotent},
		{"BelowMinimumIsInsufficient", testBelowMinimumIsInsufficient},
		{"SettleIsIdempotent", testSettleIsIdempotent},
		{"SettleShortfallNeverBelowZero", testSettleShortfall},
		{"ReleaseReturnsHold", testReleaseReturnsHold},
		{"ExpiredHoldIsReclaimed", testExpiredHoldIsReclaimed},
		{"RenewKeepsHoldAlive", testRenewKeepsHoldAlive},
		{"CreditOnceByReference_Concurrent", testCreditOnceConcurrent},
		{"BalanceEqualsGrantsMinusDebits", testBalanceEqualsGrantsMinusDebits},
		{"PeriodIsBalanceAfterLastGrant", testPeriodIsBalanceAfterLastGrant},
		{"LowAlertOncePerPeriod_Concurrent", testLowAlertOncePerPeriodConcurrent},
		{"ExhaustedAlertOncePerPeriod", testExhaustedAlertOncePerPeriod},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newWallet(t)) })
	}
}

func testReserveGrantsPartial(t *testing.T, h Harness) {
	ctx, acct, ids := setup(t, h, 50)
	if g := reserve(t, h, wallet.Hold{RequestID: ids("a"), Account: acct, Amount: 80, MinAmount: 10}); g != 50 {
		t.Fatalf("Reserve(80, min 10) with 50 available granted %d, want 50", g)
	}
	wantBalance(t, h, acct, wallet.Balance{Total: 50, Held: 50, Available: 0})
	if _, err := h.Wallet.Release(ctx, acct, ids("a")); err != nil {
		t.Fatal(err)
	}
	if g := reserve(t, h, wallet.Hold{RequestID: ids("b"), Account: acct, Amount: 30}); g != 30 {
		t.Fatalf("Reserve(30) with 50 available granted %d, want 30", g)
	}
	if g := reserve(t, h, wallet.Hold{RequestID: ids("c"), Account: acct, Amount: 30, MinAmount: 5}); g != 20 {
		t.Fatalf("Reserve(30, min 5) with 20 available granted %d, want 20", g)
	}
	wantBalance(t, h, acct, wallet.Balance{Total: 50, Held: 50, Available: 0})
}

func testReserveIdempotent(t *testing.T, h Harness) {
	_, acct, ids := setup(t, h, 100)
	hold := wallet.Hold{RequestID: ids("a"), Account: acct, Amount: 30}
	for i := 0; i < 3; i++ {
		if g := reserve(t, h, hold); g != 30 {
			t.Fatalf("Reserve #%d granted %d, want the existing hold of 30", i+1, g)
		}
	}
	wantBalance(t, h, acct, wallet.Balance{Total: 100, Held: 30, Available: 70})
}

func testBelowMinimumIsInsufficient(t *testing.T, h Harness) {
	ctx, acct, ids := setup(t, h, 5)
	_, err := h.Wallet.Reserve(ctx, wallet.Hold{RequestID: ids("a"), Account: acct, Amount: 20, MinAmount: 6})
	wantInsufficient(t, err, 5)
	wantBalance(t, h, acct, wallet.Balance{Total: 5, Held: 0, Available: 5})

	if g := reserve(t, h, wallet.Hold{RequestID: ids("b"), Account: acct, Amount: 5, MinAmount: 5}); g != 5 {
		t.Fatalf("Reserve(5, min 5) granted %d, want 5", g)
	}
	_, err = h.Wallet.Reserve(ctx, wallet.Hold{RequestID: ids("c"), Account: acct, Amount: 1})
	wantInsufficient(t, err, 0)

	never := h.NewAccount(t)
	_, err = h.Wallet.Reserve(ctx, wallet.Hold{RequestID: ids("d"), Account: never, Amount: 1})
	wantInsufficient(t, err, 0)
	wantBalance(t, h, never, wallet.Balance{})
}

func testSettleShortfall(t *testing.T, h Harness) {
	_, acct, ids := setup(t, h, 10)
	reserve(t, h, wallet.Hold{RequestID: ids("a"), Account: acct, Amount: 6})
	reserve(t, h, wallet.Hold{RequestID: ids("b"), Account: acct, Amount: 4})

	// a's hold (6) plus the free balance (0: b's hold is protected).
	wantSettle(t, h, settlement(ids("a"), acct, 25), wallet.SettleResult{Charged: 6, Shortfall: 19, Balance: 4})
	wantSettle(t, h, settlement(ids("b"), acct, 9), wallet.SettleResult{Charged: 4, Shortfall: 5, Balance: 0})
	// A request with no hold at all still settles, from the free balance.
	wantSettle(t, h, settlement(ids("c"), acct, 3), wallet.SettleResult{Charged: 0, Shortfall: 3, Balance: 0})
	wantBalance(t, h, acct, wallet.Balance{})
	if n := h.UsageCount(t, acct); n != 3 {
		t.Fatalf("usage records = %d, want 3 (shortfalls are recorded too)", n)
	}
}

func testReleaseReturnsHold(t *testing.T, h Harness) {
	ctx, acct, ids := setup(t, h, 20)
	reserve(t, h, wallet.Hold{RequestID: ids("a"), Account: acct, Amount: 15})
	wantBalance(t, h, acct, wallet.Balance{Total: 20, Held: 15, Available: 5})
	freed, err := h.Wallet.Release(ctx, acct, ids("a"))
	if err != nil || freed != 15 {
		t.Fatalf("Release = %d, %v; want 15, nil", freed, err)
	}
	wantBalance(t, h, acct, wallet.Balance{Total: 20, Held: 0, Available: 20})
	freed, err = h.Wallet.Release(ctx, acct, ids("a"))
	if err != nil || freed != 0 {
		t.Fatalf("second Release = %d, %v; want 0, nil", freed, err)
	}
	if n := h.UsageCount(t, acct); n != 0 {
		t.Fatalf("usage records after release = %d, want 0", n)
	}
	// Settling after a release takes the cost from the free balance.
	wantSettle(t, h, settlement(ids("a"), acct, 4), wallet.SettleResult{Charged: 4, Balance: 16})
}

func testExpiredHoldIsReclaimed(t *testing.T, h Harness) {
	ctx, acct, ids := setup(t, h, 10)
	reserve(t, h, wallet.Hold{RequestID: ids("a"), Account: acct, Amount: 10, Lease: 30 * time.Second})
	_, err := h.Wallet.Reserve(ctx, wallet.Hold{RequestID: ids("b"), Account: acct, Amount: 1})
	wantInsufficient(t, err, 0)

	h.Clock.Advance(31 * time.Second) // a's gateway died: its lease ran out
	wantBalance(t, h, acct, wallet.Balance{Total: 10, Held: 0, Available: 10})
	if g := reserve(t, h, wallet.Hold{RequestID: ids("b"), Account: acct, Amount: 10, Lease: 30 * time.Second}); g != 10 {
		t.Fatalf("Reserve after expiry granted %d, want 10", g)
	}
	if err := h.Wallet.Renew(ctx, acct, ids("a"), time.Minute); !errors.Is(err, wallet.ErrHoldNotFound) || resayil.ErrorCode(err) != resayil.ENOTFOUND {
		t.Fatalf("Renew of a reclaimed hold = %v, want ErrHoldNotFound", err)
	}

	h.Clock.Advance(31 * time.Second)
	n, err := h.Wallet.ReclaimExpired(ctx)
	if err != nil || n < 1 {
		t.Fatalf("ReclaimExpired = %d, %v; want at least 1, nil", n, err)
	}
	wantBalance(t, h, acct, wallet.Balance{Total: 10, Held: 0, Available: 10})
	// The request whose hold was reclaimed still settles, from the free balance.
	wantSettle(t, h, settlement(ids("a"), acct, 3), wallet.SettleResult{Charged: 3, Balance: 7})
	if n, err := h.Wallet.ReclaimExpired(ctx); err != nil {
		t.Fatalf("ReclaimExpired with nothing expired = %d, %v", n, err)
	}
}

func testRenewKeepsHoldAlive(t *testing.T, h Harness) {
	ctx, acct, ids := setup(t, h, 10)
	reserve(t, h, wallet.Hold{RequestID: ids("a"), Account: acct, Amount: 10, Lease: 30 * time.Second})
	for i := 0; i < 3; i++ {
		h.Clock.Advance(20 * time.Second)
		if err := h.Wallet.Renew(ctx, acct, ids("a"), 30*time.Second); err != nil {
			t.Fatalf("Renew #%d: %v", i+1, err)
		}
	}
	// 60 s after the reservation, well past the first lease, it still holds.
	wantBalance(t, h, acct, wallet.Balance{Total: 10, Held: 10, Available: 0})
	_, err := h.Wallet.Reserve(ctx, wallet.Hold{RequestID: ids("b"), Account: acct, Amount: 1})
	wantInsufficient(t, err, 0)
	h.Clock.Advance(31 * time.Second)
	wantBalance(t, h, acct, wallet.Balance{Total: 10, Held: 0, Available: 10})
}

func testBalanceEqualsGrantsMinusDebits(t *testing.T, h Harness) {
	ctx, acct, ids := setup(t, h, 0)
	var granted, charged resayil.Credits
	for i, amt := range []resayil.Credits{500, 250, 1000} {
		grant(t, h, acct, fmt.Sprintf("payment:%s", ids(fmt.Sprint("g", i))), amt)
		granted += amt
	}
	for i := 0; i < 20; i++ {
		id := ids(fmt.Sprint("r", i))
		g := reserve(t, h, wallet.Hold{RequestID: id, Account: acct, Amount: 60, MinAmount: 1})
		if i%7 == 3 {
			if _, err := h.Wallet.Release(ctx, acct, id); err != nil {
				t.Fatal(err)
			}
			continue
		}
		cost := resayil.Credits(i*3 + 1)
		res := settle(t, h, settlement(id, acct, cost))
		if g != 60 || res.Charged != cost || res.Shortfall != 0 {
			t.Fatalf("request %d: held %d, charged %d, shortfall %d for cost %d", i, g, res.Charged, res.Shortfall, cost)
		}
		charged += res.Charged
	}
	reserve(t, h, wallet.Hold{RequestID: ids("open"), Account: acct, Amount: 40})
	wantBalance(t, h, acct, wallet.Balance{Total: granted - charged, Held: 40, Available: granted - charged - 40})
	if n := h.UsageCount(t, acct); n != 17 {
		t.Fatalf("usage records = %d, want 17", n)
	}
}

// testPeriodIsBalanceAfterLastGrant: Balance.Period is the total right
// after the most recent grant, and PeriodSeq counts the grants; holds,
// debits and a replayed grant leave both alone
// (docs/adr/0012-credits-of-this-period.md).
func testPeriodIsBalanceAfterLastGrant(t *testing.T, h Harness) {
	_, acct, ids := setup(t, h, 0)
	wantPeriod(t, h, acct, 0, 0)
	first := "payment:" + ids("first")
	grant(t, h, acct, first, 1000)
	wantPeriod(t, h, acct, 1000, 1)
	reserve(t, h, wallet.Hold{RequestID: ids("a"), Account: acct, Amount: 300})
	settle(t, h, settlement(ids("a"), acct, 200))
	reserve(t, h, wallet.Hold{RequestID: ids("b"), Account: acct, Amount: 100})
	wantBalance(t, h, acct, wallet.Balance{Total: 800, Held: 100, Available: 700})
	wantPeriod(t, h, acct, 1000, 1)
	// A second grant: the period starts again at the balance after it,
	// which counts what was left (800) and not what is held.
	grant(t, h, acct, "subscription:"+ids("second"), 500)
	wantPeriod(t, h, acct, 1300, 2)
	// The first grant again applies nothing and changes nothing.
	if applied, err := h.Wallet.Credit(context.Background(), wallet.Grant{Reference: first, Account: acct, Amount: 1000}); err != nil || applied {
		t.Fatalf("Credit(%s) again = %v, %v; want false, nil", first, applied, err)
	}
	settle(t, h, settlement(ids("b"), acct, 100))
	wantBalance(t, h, acct, wallet.Balance{Total: 1200, Held: 0, Available: 1200})
	wantPeriod(t, h, acct, 1300, 2)
}

// setup returns a context, a new account funded with amount (unless zero)
// and a request-id maker unique to this subtest.
func setup(t *testing.T, h Harness, amount resayil.Credits) (context.Context, resayil.AccountID, func(string) string) {
	t.Helper()
	acct := h.NewAccount(t)
	if amount > 0 {
		grant(t, h, acct, "admin:"+randomHex(), amount)
	}
	run := randomHex()
	return context.Background(), acct, func(name string) string { return "req-" + run + "-" + name }
}

func randomHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
