package admission

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// renewCounter is a wallet that counts renewals and settlements; the
// ticket calls nothing else.
type renewCounter struct {
	wallet.Wallet
	renews, settles, releases atomic.Int32
}

func (w *renewCounter) Renew(context.Context, resayil.AccountID, string, time.Duration) error {
	w.renews.Add(1)
	return nil
}

func (w *renewCounter) Settle(_ context.Context, s wallet.Settlement) (wallet.SettleResult, error) {
	w.settles.Add(1)
	return wallet.SettleResult{Charged: s.Cost}, nil
}

func (w *renewCounter) Release(context.Context, resayil.AccountID, string) (resayil.Credits, error) {
	w.releases.Add(1)
	return 0, nil
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTicket_RenewsWhileRunningAndStopsAtSettle(t *testing.T) {
	w := &renewCounter{}
	tk := &Ticket{RequestID: "r", Account: 1, wallet: w, lease: 30 * time.Millisecond}
	tk.startRenewal()
	// Every lease/3 = 10 ms while the request runs.
	waitFor(t, "three renewals", func() bool { return w.renews.Load() >= 3 })
	if _, err := tk.Settle(context.Background(), 5, wallet.Usage{}); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Settle(context.Background(), 5, wallet.Usage{}); err != nil {
		t.Fatal(err)
	}
	tk.Release(context.Background())
	if n := w.settles.Load(); n != 1 || w.releases.Load() != 0 {
		t.Fatalf("%d settlements and %d releases, want 1 and 0", n, w.releases.Load())
	}
	// A renewal running at the moment of the settlement may still finish;
	// none starts after it.
	time.Sleep(5 * time.Millisecond)
	after := w.renews.Load()
	time.Sleep(60 * time.Millisecond)
	if n := w.renews.Load(); n != after {
		t.Fatalf("%d renewals after the settlement", n-after)
	}
}

func TestTicket_ReleaseStopsRenewals(t *testing.T) {
	w := &renewCounter{}
	tk := &Ticket{RequestID: "r", Account: 1, wallet: w, lease: 30 * time.Millisecond}
	tk.startRenewal()
	tk.Release(context.Background())
	time.Sleep(60 * time.Millisecond)
	if n := w.renews.Load(); n != 0 || w.releases.Load() != 1 {
		t.Fatalf("%d renewals and %d releases after an immediate release, want 0 and 1", n, w.releases.Load())
	}
}
