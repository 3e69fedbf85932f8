package walletsql_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/walletsql"
	"github.com/resayil/portal/pkg/wallet/wallettest"
)

func TestConformance(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			// One database for all subtests (migrating MariaDB per subtest
			// is slow); subtests never share an account.
			db, _ := testenv.Open(t, backend)
			wallettest.RunConformance(t, func(t *testing.T) wallettest.Harness {
				return harness(t, db)
			})
		})
	}
}

func harness(t *testing.T, db *database.DB) wallettest.Harness {
	clock := wallettest.NewClock()
	return wallettest.Harness{
		Wallet:     walletsql.New(db, walletsql.Config{Now: clock.Now}),
		Clock:      clock,
		NewAccount: func(t *testing.T) resayil.AccountID { return newAccount(t, db) },
		UsageCount: func(t *testing.T, acct resayil.AccountID) int {
			t.Helper()
			var n int
			if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM usage_records WHERE account_id = ?`, acct).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		},
		Alerts: func(t *testing.T, acct resayil.AccountID) []wallet.Alert { return alertsOf(t, db, acct) },
	}
}

// alertsOf reads the account's balance alerts back from the outbox: the
// kind from the event, the period from the dedupe key, the credits left
// from a low alert's first parameter.
func alertsOf(t testing.TB, db *database.DB, acct resayil.AccountID) []wallet.Alert {
	t.Helper()
	rows, err := db.SQL.Query(`SELECT event, dedupe_key, payload, audience FROM notifications WHERE account_id = ?`, acct)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []wallet.Alert
	for rows.Next() {
		var event, key, payload, audience string
		if err := rows.Scan(&event, &key, &payload, &audience); err != nil {
			t.Fatal(err)
		}
		a := wallet.Alert{Account: acct}
		switch event {
		case wallet.EventCreditsLow:
			a.Kind = wallet.AlertLow
		case wallet.EventCreditsExhausted:
			a.Kind = wallet.AlertExhausted
		default:
			t.Fatalf("outbox row %q of event %q", key, event)
		}
		seq, err := strconv.ParseInt(key[strings.LastIndexByte(key, ':')+1:], 10, 64)
		if err != nil || key != a.Kind.Event()+":"+strconv.FormatInt(int64(acct), 10)+":"+strconv.FormatInt(seq, 10) || audience != "user" {
			t.Fatalf("outbox row %q of audience %q, want <event>:<account>:<period> for the user", key, audience)
		}
		a.PeriodSeq = seq
		var p struct{ Params []string }
		if err := json.Unmarshal([]byte(payload), &p); err != nil {
			t.Fatal(err)
		}
		if a.Kind == wallet.AlertLow && len(p.Params) > 0 {
			n, err := strconv.ParseInt(p.Params[0], 10, 64)
			if err != nil {
				t.Fatalf("low alert params %q", p.Params)
			}
			a.Balance = resayil.Credits(n)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// newAccount inserts an accounts row: wallets has a foreign key to it.
func newAccount(t testing.TB, db *database.DB) resayil.AccountID {
	t.Helper()
	now := time.Now().UTC()
	res, err := db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, now, now)
	if err != nil {
		t.Fatal(err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	return resayil.AccountID(id)
}

// TestSettle_WritesUsageRecord checks the row Settle writes, column by
// column, and that the ledger, the usage records and the balance agree
// (the check `portal-api ledger verify` makes).
func TestSettle_WritesUsageRecord(t *testing.T) {
	onEachBackend(t, func(t *testing.T, ctx context.Context, db *database.DB) {
		w := walletsql.New(db, walletsql.Config{})
		acct := newAccount(t, db)
		if ok, err := w.Credit(ctx, wallet.Grant{Reference: "admin:u1", Account: acct, Amount: 100, Reason: "welcome", ActorUserID: 9}); !ok || err != nil {
			t.Fatalf("Credit = %v, %v", ok, err)
		}
		if _, err := w.Reserve(ctx, wallet.Hold{RequestID: "r1", Account: acct, Amount: 40}); err != nil {
			t.Fatal(err)
		}
		s := wallet.Settlement{RequestID: "r1", Account: acct, Cost: 33, Usage: wallet.Usage{
			ClientRequestID: "c1", Model: "qwen3:8b", Backend: "cloud", PromptTokens: 5, CompletionTokens: 6,
			TotalTokens: 11, Status: "ok", Latency: 1500 * time.Millisecond, TTFB: 120 * time.Millisecond, Held: 40,
		}}
		for range 2 { // the replay records and rolls up nothing
			if _, err := w.Settle(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		var (
			client, model, backendName, status string
			apiKey                             *int64
			prompt, completion, tokens         int
			credits, shortfall, heldCredits    int64
			latency, ttfb                      int
		)
		err := db.SQL.QueryRow(`SELECT client_request_id, api_key_id, model, backend, prompt_tokens, completion_tokens, total_tokens,
  credits, shortfall_credits, held_credits, status, latency_ms, ttfb_ms FROM usage_records WHERE request_id = 'r1'`).
			Scan(&client, &apiKey, &model, &backendName, &prompt, &completion, &tokens, &credits, &shortfall, &heldCredits, &status, &latency, &ttfb)
		if err != nil {
			t.Fatal(err)
		}
		if client != "c1" || apiKey != nil || model != "qwen3:8b" || backendName != "cloud" || prompt != 5 || completion != 6 ||
			tokens != 11 || credits != 33 || shortfall != 0 || heldCredits != 40 || status != "ok" || latency != 1500 || ttfb != 120 {
			t.Fatalf("usage row = %q %v %q %q %d %d %d %d %d %d %q %d %d", client, apiKey, model, backendName,
				prompt, completion, tokens, credits, shortfall, heldCredits, status, latency, ttfb)
		}
		if rows := testenv.CheckHourly(t, db.SQL); len(rows) != 1 || rows[0].Requests != 1 || rows[0].Credits != 33 {
			t.Fatalf("usage_hourly %+v, want one request of 33 credits", rows)
		}
		var grants, debits, balance, held int64
		err = db.SQL.QueryRow(`SELECT
  (SELECT SUM(amount_credits) FROM credit_ledger WHERE account_id = ?),
  (SELECT SUM(credits) FROM usage_records WHERE account_id = ?),
  balance_credits, held_credits FROM wallets WHERE account_id = ?`, acct, acct, acct).Scan(&grants, &debits, &balance, &held)
		if err != nil {
			t.Fatal(err)
		}
		if balance != grants-debits || balance != 67 || held != 0 {
			t.Fatalf("balance %d, held %d; grants %d - debits %d", balance, held, grants, debits)
		}
	})
}

// TestLoader_ExcludesGrantsNotAppliedLive: in Redis mode the ledger row is
// committed before Redis is credited; the loader must leave such grants out
// or the reconciler's Credit would count them twice.
func TestLoader_ExcludesGrantsNotAppliedLive(t *testing.T) {
	ctx := context.Background()
	db, _ := testenv.SQLite(t)
	acct := newAccount(t, db)
	l := walletsql.NewLoader(db)
	if got, err := l.LoadBalance(ctx, acct); err != nil || got != (walletredis.Loaded{}) {
		t.Fatalf("LoadBalance of an account with no wallet = %+v, %v; want zeros", got, err)
	}
	now := time.Now().UTC()
	mustExec(t, db, `INSERT INTO wallets (account_id, balance_credits, period_credits, period_seq, held_credits, updated_at) VALUES (?, 600, 700, 2, 0, ?)`, acct, now)
	// Applied: a grant of 500, a debit of 50. Pending: a grant of 200 and
	// an admin debit of 50 (not live yet: the live wallet still has those
	// 50, and the reconciler withdraws them).
	mustExec(t, db, `INSERT INTO credit_ledger (account_id, reference, kind, amount_credits, reason, live_applied_at, created_at)
VALUES (?, 'payment:1', 'payment', 500, '', ?, ?), (?, 'admin:d1', 'admin', -50, '', ?, ?),
  (?, 'payment:2', 'payment', 200, '', NULL, ?), (?, 'admin:d2', 'admin', -50, '', NULL, ?)`,
		acct, now, now, acct, now, now, acct, now, acct, now)
	// The period's number leaves out the pending grant (Credit adds its
	// one), not the pending debit (which starts no period).
	want := walletredis.Loaded{Balance: 450, Period: 700, PeriodSeq: 1}
	if got, err := l.LoadBalance(ctx, acct); err != nil || got != want {
		t.Fatalf("LoadBalance = %+v, %v; want %+v (600 less the pending 200 plus the pending -50, period 700, seq 2 less one)", got, err, want)
	}
}

func mustExec(t *testing.T, db *database.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// TestCreditTx_RunsInTheCallersTransaction: CreditTx writes nothing of its
// own accord; the caller's rollback takes the ledger row and the balance
// back together, and its commit keeps both. A grant not applied live is left
// out of the loader's balance until it is marked.
func TestCreditTx_RunsInTheCallersTransaction(t *testing.T) {
	onEachBackend(t, func(t *testing.T, ctx context.Context, db *database.DB) {
		acct := newAccount(t, db)
		g := wallet.Grant{Reference: "payment:1", Account: acct, Amount: 300}
		now := time.Now().UTC().Truncate(time.Microsecond)
		errAbort := errors.New("abort")
		err := database.RunTx(ctx, db.SQL, nil, func(tx *sql.Tx) error {
			if ok, err := walletsql.CreditTx(ctx, tx, db.Dialect, g, false, now); !ok || err != nil {
				t.Errorf("CreditTx = %v, %v; want applied", ok, err)
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("RunTx = %v, want the abort", err)
		}
		var rows int
		if err := db.SQL.QueryRow(`SELECT COUNT(*) FROM credit_ledger WHERE account_id = ?`, acct).Scan(&rows); err != nil || rows != 0 {
			t.Fatalf("ledger rows after rollback = %d, %v; want 0", rows, err)
		}
		for i, want := range []bool{true, false} {
			err := database.RunTx(ctx, db.SQL, nil, func(tx *sql.Tx) error {
				ok, err := walletsql.CreditTx(ctx, tx, db.Dialect, g, false, now)
				if ok != want {
					t.Errorf("CreditTx #%d applied = %v, want %v", i+1, ok, want)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		w := walletsql.New(db, walletsql.Config{})
		if b, err := w.Balance(ctx, acct); err != nil || b.Total != 300 || b.Period != 300 {
			t.Fatalf("Balance = %+v, %v; want 300, period 300", b, err)
		}
		if got, err := walletsql.NewLoader(db).LoadBalance(ctx, acct); err != nil || got.Balance != 0 || got.PeriodSeq != 0 {
			t.Fatalf("LoadBalance = %+v, %v; want balance 0, period 0 (the grant is not live yet)", got, err)
		}
		if ok, err := w.Credit(ctx, g); ok || err != nil {
			t.Fatalf("Credit of a committed reference = %v, %v; want false, nil", ok, err)
		}
	})
}

// onEachBackend runs test in parallel on a fresh database of each backend.
func onEachBackend(t *testing.T, test func(t *testing.T, ctx context.Context, db *database.DB)) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, backend)
			test(t, context.Background(), db)
		})
	}
}

// TestAlerts_OutboxRows: the rows the embedded wallet writes for the
// balance alerts, as the notifier reads them, and the memo that spares a
// flood of refusals their INSERT: once a period's exhausted row is
// written, this process does not write it again (seen here by deleting
// the row: a refusal does not bring it back), while another process,
// without the memo, would (and the dedupe key keeps that once).
func TestAlerts_OutboxRows(t *testing.T) {
	onEachBackend(t, func(t *testing.T, ctx context.Context, db *database.DB) {
		const link = "https://portal.example/billing"
		w := walletsql.New(db, walletsql.Config{TopUpURL: link})
		acct := newAccount(t, db)
		if _, err := w.Credit(ctx, wallet.Grant{Reference: "payment:1", Account: acct, Amount: 100}); err != nil {
			t.Fatal(err)
		}
		payloads := func() map[string]string {
			t.Helper()
			rows, err := db.SQL.Query(`SELECT dedupe_key, payload FROM notifications WHERE account_id = ?`, acct)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string]string{}
			for rows.Next() {
				var k, p string
				if err := rows.Scan(&k, &p); err != nil {
					t.Fatal(err)
				}
				out[k] = p
			}
			return out
		}
		key := func(event string, seq int) string { return fmt.Sprintf("%s:%d:%d", event, acct, seq) }
		refuse := func(id string, w *walletsql.Wallet) {
			t.Helper()
			_, err := w.Reserve(ctx, wallet.Hold{RequestID: id, Account: acct, Amount: 5, MinAmount: 5, AlertOnRefusal: true})
			if resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS {
				t.Fatalf("Reserve = %v, want a refusal", err)
			}
		}
		if _, err := w.Settle(ctx, wallet.Settlement{RequestID: "a", Account: acct, Cost: 81}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Settle(ctx, wallet.Settlement{RequestID: "b", Account: acct, Cost: 19}); err != nil {
			t.Fatal(err)
		}
		want := map[string]string{
			key("credits_low", 1):       `{"params":["19","` + link + `"]}`,
			key("credits_exhausted", 1): `{"params":["` + link + `"]}`,
		}
		if got := payloads(); !maps.Equal(got, want) {
			t.Fatalf("outbox %v, want %v", got, want)
		}
		mustExec(t, db, `DELETE FROM notifications WHERE dedupe_key = ?`, key("credits_exhausted", 1))
		refuse("r1", w)
		delete(want, key("credits_exhausted", 1))
		if got := payloads(); !maps.Equal(got, want) {
			t.Fatalf("outbox after a refusal this process knows of %v, want %v", got, want)
		}
		other := walletsql.New(db, walletsql.Config{TopUpURL: link})
		refuse("r2", other)
		refuse("r3", other)
		want[key("credits_exhausted", 1)] = `{"params":["` + link + `"]}`
		if got := payloads(); !maps.Equal(got, want) {
			t.Fatalf("outbox after another process's refusals %v, want %v", got, want)
		}
		// A grant: period 2, where the refusal alerts anew.
		if _, err := w.Credit(ctx, wallet.Grant{Reference: "payment:2", Account: acct, Amount: 3}); err != nil {
			t.Fatal(err)
		}
		refuse("r4", w)
		want[key("credits_exhausted", 2)] = `{"params":["` + link + `"]}`
		if got := payloads(); !maps.Equal(got, want) {
			t.Fatalf("outbox in period 2 %v, want %v", got, want)
		}
	})
}
