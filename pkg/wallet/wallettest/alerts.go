package wallettest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// The balance alerts (wallet.DebitAlert, wallet.Hold.AlertOnRefusal): each
// (kind, account, period) is raised once, however many settlements or
// refusals race for it. What "raised" means is the implementation's: an
// outbox row (walletsql), an event on the usage stream for the usage
// writer to record (walletredis); Harness.Alerts reads it back.

// testLowAlertOncePerPeriodConcurrent: 200 settlements released together
// walk a balance of 999 down by 4 each; exactly one of them crosses below
// a fifth of the period (from 203 to 199), and exactly one low alert is
// raised, with the 199 left.
func testLowAlertOncePerPeriodConcurrent(t *testing.T, h Harness) {
	ctx, acct, ids := setup(t, h, 999)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range Callers {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			<-start
			if _, err := h.Wallet.Settle(ctx, settlement(id, acct, 4)); err != nil {
				t.Errorf("Settle(%s): %v", id, err)
			}
		}(ids(fmt.Sprint(i)))
	}
	close(start)
	wg.Wait()
	wantBalance(t, h, acct, wallet.Balance{Total: 999 - 4*Callers, Available: 999 - 4*Callers, PeriodSeq: 1})
	wantAlerts(t, h, acct, wallet.Alert{Kind: wallet.AlertLow, Account: acct, PeriodSeq: 1, Balance: 199})
}

// testExhaustedAlertOncePerPeriod: reaching zero raises the exhausted
// alert, and the refusals after it (50 at once) raise nothing more; a
// grant starts a new period in which both alerts fire again, the
// exhausted one now from a refusal; a refusal not marked AlertOnRefusal
// (an operator's reservation) and a replayed settlement raise nothing.
func testExhaustedAlertOncePerPeriod(t *testing.T, h Harness) {
	ctx, acct, ids := setup(t, h, 100)
	// 100 to 50 stays above a fifth; 50 to 0 empties the balance: the
	// exhausted alert only (DebitAlert), not the low one as well.
	settle(t, h, settlement(ids("half"), acct, 50))
	wantAlerts(t, h, acct)
	last := settlement(ids("last"), acct, 50)
	settle(t, h, last)
	exhausted1 := wallet.Alert{Kind: wallet.AlertExhausted, Account: acct, PeriodSeq: 1}
	wantAlerts(t, h, acct, exhausted1)
	refuseConcurrently(t, h, acct, ids, "flood", 50, 1)
	settle(t, h, last) // a replay
	wantAlerts(t, h, acct, exhausted1)

	// Period 2: 0 + 10 = 10. A debit to 1 crosses below 2 (a fifth).
	grant(t, h, acct, "payment:"+ids("second"), 10)
	wantBalance(t, h, acct, wallet.Balance{Total: 10, Available: 10, PeriodSeq: 2})
	settle(t, h, settlement(ids("nine"), acct, 9))
	low2 := wallet.Alert{Kind: wallet.AlertLow, Account: acct, PeriodSeq: 2, Balance: 1}
	wantAlerts(t, h, acct, exhausted1, low2)
	// An operator's reservation refused: not the user's 402.
	_, err := h.Wallet.Reserve(ctx, wallet.Hold{RequestID: ids("operator"), Account: acct, Amount: 5, MinAmount: 5})
	wantInsufficient(t, err, 1)
	wantAlerts(t, h, acct, exhausted1, low2)
	// A request that needs 2 of the 1 left: refused, and the balance is
	// exhausted for it, once however many come.
	refuseConcurrently(t, h, acct, ids, "needs-two", 50, 2)
	wantAlerts(t, h, acct, exhausted1, low2, wallet.Alert{Kind: wallet.AlertExhausted, Account: acct, PeriodSeq: 2})
}

// refuseConcurrently sends n request reservations at once that the
// balance cannot pay (each needs min), and wants every one refused.
func refuseConcurrently(t *testing.T, h Harness, acct resayil.AccountID, ids func(string) string, name string, n int, min resayil.Credits) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func(id string) {
			defer wg.Done()
			<-start
			_, err := h.Wallet.Reserve(context.Background(), wallet.Hold{RequestID: id, Account: acct, Amount: 10 * min, MinAmount: min, AlertOnRefusal: true})
			if resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS {
				t.Errorf("Reserve(%s) = %v, want a refusal for credits", id, err)
			}
		}(ids(fmt.Sprintf("%s-%d", name, i)))
	}
	close(start)
	wg.Wait()
}

// wantAlerts compares the account's alerts with want, in any order. The
// balance of an exhausted alert is not compared: its message carries none,
// so not every implementation keeps it.
func wantAlerts(t *testing.T, h Harness, acct resayil.AccountID, want ...wallet.Alert) {
	t.Helper()
	got := h.Alerts(t, acct)
	norm := func(as []wallet.Alert) []wallet.Alert {
		out := make([]wallet.Alert, len(as))
		for i, a := range as {
			if a.Kind == wallet.AlertExhausted {
				a.Balance = 0
			}
			out[i] = a
		}
		slices.SortFunc(out, func(a, b wallet.Alert) int {
			if a.PeriodSeq != b.PeriodSeq {
				return int(a.PeriodSeq - b.PeriodSeq)
			}
			return int(a.Kind) - int(b.Kind)
		})
		return out
	}
	if g, w := norm(got), norm(want); !slices.Equal(g, w) {
		t.Fatalf("alerts of account %d =\n%+v\nwant\n%+v", acct, g, w)
	}
}
