package wallet_test

import (
	"errors"
	"testing"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

func TestHoldGrant(t *testing.T) {
	tests := []struct {
		name      string
		hold      wallet.Hold
		available resayil.Credits
		want      resayil.Credits
		refused   bool
	}{
		{"Full", wallet.Hold{Amount: 30, MinAmount: 5}, 100, 30, false},
		{"Partial", wallet.Hold{Amount: 30, MinAmount: 5}, 12, 12, false},
		{"ExactlyMinimum", wallet.Hold{Amount: 30, MinAmount: 5}, 5, 5, false},
		{"BelowMinimum", wallet.Hold{Amount: 30, MinAmount: 5}, 4, 0, true},
		{"ZeroMinimumMeansOne", wallet.Hold{Amount: 30}, 0, 0, true},
		{"NegativeAvailableReportsZero", wallet.Hold{Amount: 3}, -2, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.hold.Grant(tc.available)
			if tc.refused {
				if resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS {
					t.Fatalf("Grant(%d) error = %v, want insufficient credits", tc.available, err)
				}
				if avail, ok := wallet.AvailableCredits(err); !ok || avail != max(tc.available, 0) {
					t.Fatalf("AvailableCredits = %d, %v", avail, ok)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Grant(%d) = %d, %v; want %d", tc.available, got, err, tc.want)
			}
		})
	}
}

func TestCharge(t *testing.T) {
	for _, tc := range []struct{ cost, chargeable, charged, shortfall resayil.Credits }{
		{10, 30, 10, 0},
		{30, 10, 10, 20},
		{5, 0, 0, 5},
		{5, -3, 0, 5},
		{0, 10, 0, 0},
	} {
		c, s := wallet.Charge(tc.cost, tc.chargeable)
		if c != tc.charged || s != tc.shortfall {
			t.Errorf("Charge(%d, %d) = %d, %d; want %d, %d", tc.cost, tc.chargeable, c, s, tc.charged, tc.shortfall)
		}
	}
}

func TestValidate_Invalid(t *testing.T) {
	for name, err := range map[string]error{
		"HoldNoRequestID":     wallet.Hold{Account: 1, Amount: 1}.Validate(),
		"HoldMinAboveAmount":  wallet.Hold{RequestID: "r", Account: 1, Amount: 1, MinAmount: 2}.Validate(),
		"HoldZeroAmount":      wallet.Hold{RequestID: "r", Account: 1}.Validate(),
		"SettleNegativeCost":  wallet.Settlement{RequestID: "r", Account: 1, Cost: -1}.Validate(),
		"HoldSeparatorInID":   wallet.Hold{RequestID: "r\x1f1", Account: 1, Amount: 1}.Validate(),
		"HoldSpaceInID":       wallet.Hold{RequestID: "r 1", Account: 1, Amount: 1}.Validate(),
		"SettleNonASCIIID":    wallet.Settlement{RequestID: "r\u00e9", Account: 1}.Validate(),
		"SettleControlModel":  wallet.Settlement{RequestID: "r", Account: 1, Usage: wallet.Usage{Model: "m\x1fx"}}.Validate(),
		"SettleControlStatus": wallet.Settlement{RequestID: "r", Account: 1, Usage: wallet.Usage{Status: "ok\n"}}.Validate(),
		"GrantNoReference":    wallet.Grant{Account: 1, Amount: 1}.Validate(),
		"GrantNegativeAmount": wallet.Grant{Reference: "admin:x", Account: 1, Amount: -5}.Validate(),
		"GrantNoKind":         wallet.Grant{Reference: "nokind", Account: 1, Amount: 5}.Validate(),
	} {
		if !errors.Is(err, wallet.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if err := (wallet.Grant{Reference: "payment:7", Account: 1, Amount: 5}).Validate(); err != nil {
		t.Fatal(err)
	}
	if k := (wallet.Grant{Reference: "payment:7"}).LedgerKind(); k != "payment" {
		t.Fatalf("LedgerKind = %q, want payment", k)
	}
}

func TestDebitAlert(t *testing.T) {
	tests := []struct {
		name                  string
		before, after, period resayil.Credits
		want                  wallet.AlertKind
	}{
		{"AboveTheFifth", 1000, 201, 1000, wallet.NoAlert},
		{"ExactlyTheFifthIsNotBelow", 1000, 200, 1000, wallet.NoAlert},
		{"CrossesBelow", 200, 199, 1000, wallet.AlertLow},
		{"CrossesFromFarAbove", 1000, 10, 1000, wallet.AlertLow},
		{"AlreadyBelow", 199, 150, 1000, wallet.NoAlert},
		{"FifthRoundsNoWay", 201, 200, 1001, wallet.AlertLow}, // 200*5 = 1000 < 1001
		{"ReachesZero", 50, 0, 1000, wallet.AlertExhausted},
		{"ReachesZeroFromAbove", 1000, 0, 1000, wallet.AlertExhausted},
		{"NoPeriodStillExhausts", 5, 0, 0, wallet.AlertExhausted},
		{"NoPeriodNoLow", 5, 1, 0, wallet.NoAlert},
		{"NoDebitAtZero", 0, 0, 1000, wallet.NoAlert},
		{"NoDebit", 500, 500, 1000, wallet.NoAlert},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := wallet.DebitAlert(tc.before, tc.after, tc.period); got != tc.want {
				t.Fatalf("DebitAlert(%d, %d, %d) = %d, want %d", tc.before, tc.after, tc.period, got, tc.want)
			}
		})
	}
	a := wallet.Alert{Kind: wallet.AlertLow, Account: 42, PeriodSeq: 7, Balance: 3}
	if k := a.DedupeKey(); k != "credits_low:42:7" {
		t.Fatalf("DedupeKey = %q", k)
	}
	if u := wallet.TopUpURL("https://portal.example/"); u != "https://portal.example/billing" {
		t.Fatalf("TopUpURL = %q", u)
	}
}
