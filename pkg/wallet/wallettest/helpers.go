package wallettest

import (
	"context"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

func settlement(id string, acct resayil.AccountID, cost resayil.Credits) wallet.Settlement {
	return wallet.Settlement{
		RequestID: id,
		Account:   acct,
		Cost:      cost,
		Usage: wallet.Usage{
			ClientRequestID:  "client-" + id,
			APIKeyID:         7,
			Model:            "llama3.2:3b",
			Backend:          "local",
			PromptTokens:     12,
			CompletionTokens: 30,
			TotalTokens:      42,
			Status:           "ok",
			Latency:          250 * time.Millisecond,
			TTFB:             40 * time.Millisecond,
		},
	}
}

func grant(t *testing.T, h Harness, acct resayil.AccountID, ref string, amount resayil.Credits) {
	t.Helper()
	ok, err := h.Wallet.Credit(context.Background(), wallet.Grant{Reference: ref, Account: acct, Amount: amount, Reason: "test"})
	if err != nil || !ok {
		t.Fatalf("Credit(%s, %d) = %v, %v; want applied", ref, amount, ok, err)
	}
}

func reserve(t *testing.T, h Harness, hold wallet.Hold) resayil.Credits {
	t.Helper()
	g, err := h.Wallet.Reserve(context.Background(), hold)
	if err != nil {
		t.Fatalf("Reserve(%+v): %v", hold, err)
	}
	return g
}

func settle(t *testing.T, h Harness, s wallet.Settlement) wallet.SettleResult {
	t.Helper()
	res, err := h.Wallet.Settle(context.Background(), s)
	if err != nil {
		t.Fatalf("Settle(%s, cost %d): %v", s.RequestID, s.Cost, err)
	}
	return res
}

func wantSettle(t *testing.T, h Harness, s wallet.Settlement, want wallet.SettleResult) {
	t.Helper()
	if got := settle(t, h, s); got != want {
		t.Fatalf("Settle(%s, cost %d) = %+v, want %+v", s.RequestID, s.Cost, got, want)
	}
}

func wantBalance(t *testing.T, h Harness, acct resayil.AccountID, want wallet.Balance) {
	t.Helper()
	got, err := h.Wallet.Balance(context.Background(), acct)
	if err != nil {
		t.Fatalf("Balance: %v", err)
	}
	// Period has its own subtest (testPeriodIsBalanceAfterLastGrant);
	// PeriodSeq is compared only when want sets it.
	got.Period = want.Period
	if want.PeriodSeq == 0 {
		got.PeriodSeq = 0
	}
	if got != want {
		t.Fatalf("Balance = %+v, want %+v", got, want)
	}
}

func wantPeriod(t *testing.T, h Harness, acct resayil.AccountID, want resayil.Credits, seq int64) {
	t.Helper()
	got, err := h.Wallet.Balance(context.Background(), acct)
	if err != nil {
		t.Fatalf("Balance: %v", err)
	}
	if got.Period != want || got.PeriodSeq != seq {
		t.Fatalf("Balance = %+v, want Period %d, PeriodSeq %d", got, want, seq)
	}
}

func wantInsufficient(t *testing.T, err error, available resayil.Credits) {
	t.Helper()
	if resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS {
		t.Fatalf("error = %v, want code %s", err, resayil.EINSUFFICIENTCREDITS)
	}
	if got, ok := wallet.AvailableCredits(err); !ok || got != available {
		t.Fatalf("refusal carries available = %d, %v; want %d", got, ok, available)
	}
}
