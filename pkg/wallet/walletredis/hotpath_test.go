package walletredis_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/wallettest"
)

// hot is a wallet on a manual clock with one funded account.
func hot(t *testing.T, funds resayil.Credits) (*walletredis.Wallet, *testenv.RedisEnv, *wallettest.Clock, resayil.AccountID) {
	t.Helper()
	env := testenv.Redis(t)
	clock := wallettest.NewClock()
	w, err := walletredis.New(env.Client, &durable{}, walletredis.Config{Prefix: env.Prefix, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	const acct resayil.AccountID = 7
	if _, err := w.Credit(context.Background(), wallet.Grant{Reference: "admin:funds", Account: acct, Amount: funds}); err != nil {
		t.Fatal(err)
	}
	return w, env, clock, acct
}

func mustReserve(t *testing.T, w *walletredis.Wallet, h wallet.Hold) resayil.Credits {
	t.Helper()
	g, err := w.Reserve(context.Background(), h)
	if err != nil {
		t.Fatalf("Reserve(%s): %v", h.RequestID, err)
	}
	return g
}

// A repeated Reserve answers the existing hold and writes nothing, on the
// HSETNX path (the balance covers the amount) and on the other one, even
// when the hold's lease ran out (it is not reclaimed and granted anew).
func TestReserve_RepeatOnBothPaths(t *testing.T) {
	ctx := context.Background()
	w, _, clock, acct := hot(t, 100)
	if g := mustReserve(t, w, wallet.Hold{RequestID: "a", Account: acct, Amount: 80}); g != 80 {
		t.Fatalf("a: %d", g)
	}
	// 20 available, 80 asked: the path that may reclaim.
	if g := mustReserve(t, w, wallet.Hold{RequestID: "a", Account: acct, Amount: 80}); g != 80 {
		t.Fatalf("a again, balance short: %d, want the existing 80", g)
	}
	// 20 available, 10 asked: the HSETNX path.
	if g := mustReserve(t, w, wallet.Hold{RequestID: "a", Account: acct, Amount: 10}); g != 80 {
		t.Fatalf("a again, balance enough: %d, want the existing 80", g)
	}
	clock.Advance(wallet.DefaultLease + time.Second)
	if g := mustReserve(t, w, wallet.Hold{RequestID: "a", Account: acct, Amount: 80}); g != 80 {
		t.Fatalf("a again, expired, balance short: %d, want the existing 80", g)
	}
	if g := mustReserve(t, w, wallet.Hold{RequestID: "a", Account: acct, Amount: 10}); g != 80 {
		t.Fatalf("a again, expired, balance enough: %d, want the existing 80", g)
	}
	res, err := w.Settle(ctx, wallet.Settlement{RequestID: "a", Account: acct, Cost: 30})
	if err != nil || res != (wallet.SettleResult{Charged: 30, Balance: 70}) {
		t.Fatalf("settle a: %+v %v", res, err)
	}
	if b, err := w.Balance(ctx, acct); err != nil || b != (wallet.Balance{Total: 70, Available: 70, Period: 100, PeriodSeq: 1}) {
		t.Fatalf("balance %+v %v", b, err)
	}
}

// Settle writes both fields of the account hash at once when both change:
// the values must be exactly what the increments would give, with another
// live hold, an expired one reclaimed on the way, and large balances.
func TestSettle_AccountHashExact(t *testing.T) {
	ctx := context.Background()
	const big = resayil.Credits(1) << 50
	w, env, clock, acct := hot(t, big+100)
	mustReserve(t, w, wallet.Hold{RequestID: "dead", Account: acct, Amount: 50, Lease: 30 * time.Second})
	mustReserve(t, w, wallet.Hold{RequestID: "live", Account: acct, Amount: big, Lease: 10 * time.Minute})
	mustReserve(t, w, wallet.Hold{RequestID: "mine", Account: acct, Amount: 40, Lease: 10 * time.Minute})
	clock.Advance(31 * time.Second) // dead's gateway died
	// mine's 40 and the free 10 do not pay 70: the settlement reclaims dead's 50.
	res, err := w.Settle(ctx, wallet.Settlement{RequestID: "mine", Account: acct, Cost: 70})
	if err != nil || res != (wallet.SettleResult{Charged: 70, Balance: big + 30}) {
		t.Fatalf("settle: %+v %v", res, err)
	}
	h := env.Client.HGetAll(ctx, w.Keys().Account(acct)).Val()
	if h["balance"] != strconv.FormatInt(int64(big+30), 10) || h["held"] != strconv.FormatInt(int64(big), 10) {
		t.Fatalf("account hash %v, want balance %d held %d", h, big+30, big)
	}
	// No charge: only the hold goes.
	mustReserve(t, w, wallet.Hold{RequestID: "free", Account: acct, Amount: 5})
	if res, err := w.Settle(ctx, wallet.Settlement{RequestID: "free", Account: acct}); err != nil || res.Charged != 0 {
		t.Fatalf("settle free: %+v %v", res, err)
	}
	if b, err := w.Balance(ctx, acct); err != nil || b != (wallet.Balance{Total: big + 30, Held: big, Available: 30, Period: big + 100, PeriodSeq: 1}) {
		t.Fatalf("balance %+v %v", b, err)
	}
	if _, err := w.Release(ctx, acct, "live"); err != nil {
		t.Fatal(err)
	}
	h = env.Client.HGetAll(ctx, w.Keys().Account(acct)).Val()
	if h["balance"] != strconv.FormatInt(int64(big+30), 10) || h["held"] != "0" {
		t.Fatalf("account hash %v", h)
	}
}

// The holds keys outlive every lease in them: extend refreshes both to
// lease + 1 h once their TTL fell below lease + 50 min, never shortens it,
// and gives new keys their TTL.
func TestHoldsKeys_TTL(t *testing.T) {
	ctx := context.Background()
	w, env, _, acct := hot(t, 1000)
	holds, leases := w.Keys().Holds(acct), w.Keys().Leases(acct)
	ttl := wallet.DefaultLease + time.Hour
	set := func(d time.Duration) {
		t.Helper()
		for _, k := range []string{holds, leases} {
			if !env.Client.PExpire(ctx, k, d).Val() {
				t.Fatalf("no key %s", k)
			}
		}
	}
	want := func(what string, lo, hi time.Duration) {
		t.Helper()
		for _, k := range []string{holds, leases} {
			if d := env.Client.PTTL(ctx, k).Val(); d < lo || d > hi {
				t.Fatalf("%s: %s has TTL %s, want %s to %s", what, k, d, lo, hi)
			}
		}
	}
	mustReserve(t, w, wallet.Hold{RequestID: "a", Account: acct, Amount: 1})
	want("new keys", ttl-time.Minute, ttl)
	set(ttl - 9*time.Minute)
	mustReserve(t, w, wallet.Hold{RequestID: "b", Account: acct, Amount: 1})
	want("within the slack", ttl-10*time.Minute, ttl-9*time.Minute)
	set(ttl - 11*time.Minute)
	mustReserve(t, w, wallet.Hold{RequestID: "c", Account: acct, Amount: 1})
	want("below the slack", ttl-time.Minute, ttl)
	set(ttl - 11*time.Minute)
	if err := w.Renew(ctx, acct, "a", 0); err != nil {
		t.Fatal(err)
	}
	want("renewed", ttl-time.Minute, ttl)
	long := 30*time.Minute + time.Hour
	mustReserve(t, w, wallet.Hold{RequestID: "d", Account: acct, Amount: 1, Lease: 30 * time.Minute})
	want("longer lease", long-time.Minute, long)
	mustReserve(t, w, wallet.Hold{RequestID: "e", Account: acct, Amount: 1})
	want("shorter lease after a longer one", long-time.Minute, long)
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		if _, err := w.Settle(ctx, wallet.Settlement{RequestID: id, Account: acct, Cost: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if n := env.Client.Exists(ctx, holds, leases).Val(); n != 0 {
		t.Fatalf("%d holds keys left with no hold", n)
	}
	mustReserve(t, w, wallet.Hold{RequestID: "f", Account: acct, Amount: 1})
	want("keys made again", ttl-time.Minute, ttl)
}

// When the holds keys are gone (their TTL ran out after every lease in
// them), held goes back to zero at the next script, whichever looks first.
func TestHoldsKeysGone_HeldResets(t *testing.T) {
	ctx := context.Background()
	w, env, _, acct := hot(t, 100)
	drop := func() {
		t.Helper()
		env.Client.Del(ctx, w.Keys().Holds(acct), w.Keys().Leases(acct))
	}
	mustReserve(t, w, wallet.Hold{RequestID: "a", Account: acct, Amount: 60})
	drop()
	if g := mustReserve(t, w, wallet.Hold{RequestID: "b", Account: acct, Amount: 100}); g != 100 {
		t.Fatalf("reserve after the holds keys expired: %d, want 100", g)
	}
	drop()
	res, err := w.Settle(ctx, wallet.Settlement{RequestID: "b", Account: acct, Cost: 10})
	if err != nil || res != (wallet.SettleResult{Charged: 10, Balance: 90}) {
		t.Fatalf("settle after the holds keys expired: %+v %v", res, err)
	}
	if b, err := w.Balance(ctx, acct); err != nil || b != (wallet.Balance{Total: 90, Available: 90, Period: 100, PeriodSeq: 1}) {
		t.Fatalf("balance %+v %v", b, err)
	}
}
