package admission_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/admission"
	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitmem"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// renewals wraps the embedded wallet (every method is the real one) and
// signals each renewal, so a test waits for renewals instead of sleeping.
type renewals struct {
	wallet.Wallet
	n       atomic.Int32
	renewed chan struct{}
}

func (w *renewals) Renew(ctx context.Context, acct resayil.AccountID, id string, lease time.Duration) error {
	w.n.Add(1)
	select {
	case w.renewed <- struct{}{}:
	default:
	}
	return w.Wallet.Renew(ctx, acct, id, lease)
}

type plans []resayil.Plan

func (p plans) All() []resayil.Plan { return p }

// noSlot is a request served without a local slot (the cloud).
type noSlot struct{}

func (noSlot) ReleaseWith(func([]capacity.Host, string) (capacity.Outcome, error)) {}
func (noSlot) Release()                                                            {}

var basic = resayil.Plan{Code: "basic", Name: "Basic", RateLimitPerMinute: 100, Classes: []resayil.ModelClass{resayil.ClassSmall}}

// admit admits one request for a funded account of a real embedded store
// (SQLite wallet, in-process limiter) with the given hold lease.
func admit(t *testing.T, lease time.Duration) (*admission.Ticket, *renewals, *database.DB) {
	t.Helper()
	db, _ := testenv.Open(t, testenv.SQLiteBackend)
	now := time.Now().UTC()
	res, err := db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, now, now)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	acct := resayil.AccountID(id)
	sw := walletsql.New(db, walletsql.Config{})
	if _, err := sw.Credit(context.Background(), wallet.Grant{Reference: "admin:ticket-test", Account: acct, Amount: 100, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	w := &renewals{Wallet: sw, renewed: make(chan struct{}, 1)}
	c, err := catalog.Parse([]byte("models:\n  - id: m\n    class: small\n    local: m\n    max_output_tokens: 100\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &admission.Admission{
		Catalog: catalog.NewLive(c), Store: admission.Embedded{Limiter: ratelimitmem.New(ratelimitmem.Config{}), Wallet: w},
		Wallet: w, Plans: plans{basic}, Lease: lease,
	}
	tk, _, err := a.Admit(context.Background(), resayil.Principal{KeyID: 1, Account: acct, Plan: basic},
		admission.Request{RequestID: "req-1", Model: "m", PromptBytes: 10, MaxTokens: 10, N: 1})
	if err != nil {
		t.Fatal(err)
	}
	return tk, w, db
}

func heldCredits(t *testing.T, db *database.DB) int64 {
	t.Helper()
	var n int64
	if err := db.SQL.QueryRow(`SELECT COALESCE(SUM(amount_credits), 0) FROM wallet_holds`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func waitRenewals(t *testing.T, w *renewals, n int) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for w.n.Load() < int32(n) {
		select {
		case <-w.renewed:
		case <-deadline:
			t.Fatalf("%d renewals within 5 s, want %d", w.n.Load(), n)
		}
	}
}

// TestTicket_RenewsWhileRunningAndStopsAtSettle: the hold is renewed every
// lease/3 while the request runs; the settlement stops the renewals and
// settles once, however often it is called, and a release after it does
// nothing.
func TestTicket_RenewsWhileRunningAndStopsAtSettle(t *testing.T) {
	tk, w, db := admit(t, 30*time.Millisecond)
	waitRenewals(t, w, 3)
	if heldCredits(t, db) != 1 {
		t.Fatalf("held %d, want the hold of 1 credit", heldCredits(t, db))
	}
	first, err := tk.Settle(context.Background(), 1, wallet.Usage{Status: "ok"}, noSlot{})
	if err != nil || first.Charged != 1 {
		t.Fatalf("settle: %+v %v", first, err)
	}
	again, err := tk.Settle(context.Background(), 5, wallet.Usage{Status: "ok"}, noSlot{})
	if err != nil || again != first {
		t.Fatalf("a second settlement answered %+v %v, want the first %+v", again, err, first)
	}
	if err := tk.Release(context.Background()); err != nil {
		t.Fatalf("release after settle: %v", err)
	}
	var balance, usage int64
	if err := db.SQL.QueryRow(`SELECT balance_credits FROM wallets`).Scan(&balance); err != nil {
		t.Fatal(err)
	}
	if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM usage_records`).Scan(&usage); err != nil {
		t.Fatal(err)
	}
	if balance != 99 || usage != 1 || heldCredits(t, db) != 0 {
		t.Fatalf("balance %d, %d usage records, %d held; want 99, 1, 0", balance, usage, heldCredits(t, db))
	}
	// A renewal whose timer fires at the moment of the settlement finds
	// the ticket stopped: it neither renews nor re-arms.
	before := w.n.Load()
	admission.FireRenewal(tk)
	if n := w.n.Load(); n != before {
		t.Fatalf("%d renewals after the settlement", n-before)
	}
	if admission.RenewalArmed(tk) {
		t.Fatal("the renewal timer is armed after the settlement")
	}
}

// TestTicket_ReleaseStopsRenewals: an immediate release gives the hold
// back and no renewal runs.
func TestTicket_ReleaseStopsRenewals(t *testing.T) {
	tk, w, db := admit(t, 30*time.Millisecond)
	if err := tk.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if heldCredits(t, db) != 0 {
		t.Fatal("the hold survived its release")
	}
	admission.FireRenewal(tk)
	if n := w.n.Load(); n != 0 || admission.RenewalArmed(tk) {
		t.Fatalf("%d renewals, timer armed %v, after an immediate release", n, admission.RenewalArmed(tk))
	}
}
