package usage_test

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

const topUp = "https://portal.example/billing"

// outbox returns the account's outbox rows: dedupe key → payload.
func (f *fixture) outbox(t *testing.T, acct resayil.AccountID) map[string]string {
	t.Helper()
	rows, err := f.db.SQL.Query(`SELECT dedupe_key, payload FROM notifications WHERE account_id = ? AND audience = 'user'`, acct)
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// grant credits an account the way portal-api does in Redis mode: the
// durable part first (CreditTx, not yet live), then the live Credit, then
// the row marked live.
func (f *fixture) grant(t *testing.T, acct resayil.AccountID, ref string, amount resayil.Credits) {
	t.Helper()
	ctx := context.Background()
	g := wallet.Grant{Reference: ref, Account: acct, Amount: amount}
	if err := database.RunTx(ctx, f.db.SQL, nil, func(tx *sql.Tx) error {
		_, err := walletsql.CreditTx(ctx, tx, f.db.Dialect, g, false, time.Now().UTC())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.live.Credit(ctx, g); !ok || err != nil {
		t.Fatalf("live Credit(%s) = %v, %v", ref, ok, err)
	}
	if _, err := f.db.SQL.Exec(`UPDATE credit_ledger SET live_applied_at = ? WHERE reference = ?`, time.Now().UTC(), ref); err != nil {
		t.Fatal(err)
	}
}

// refuse sends n request holds at once that the live balance cannot pay,
// as the gateway's admission does (AlertOnRefusal), and wants each refused.
func (f *fixture) refuse(t *testing.T, acct resayil.AccountID, n int, min resayil.Credits) {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		id := fmt.Sprintf("refused-%d-%d", acct, f.seq.Add(1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := f.live.Reserve(context.Background(), wallet.Hold{RequestID: id, Account: acct, Amount: 4 * min, MinAmount: min, AlertOnRefusal: true})
			if resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS {
				t.Errorf("Reserve(%s) = %v, want a refusal for credits", id, err)
			}
		}()
	}
	close(start)
	wg.Wait()
}

// TestWriter_BalanceAlertsOncePerPeriod is Redis mode end to end: the live
// wallet reports what crossed (the settle script) and what was refused
// (the reserve script) on the usage streams, and the real Writer records
// each alert once per period as an outbox row in its batch's transaction,
// however many settlements cross together and refusals follow.
func TestWriter_BalanceAlertsOncePerPeriod(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		cfg := f.config()
		cfg.TopUpURL = topUp
		w := f.start(t, cfg)
		acct := f.account(t, 999) // period 1: 999 credits
		key := func(event string, seq int) string { return fmt.Sprintf("%s:%d:%d", event, acct, seq) }

		// 200 settlements of 4 at once: one of them goes from 203 to 199,
		// below a fifth of 999.
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := f.tryRequest(acct, 4, 4); err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		f.waitWritten(t, 200)
		want := map[string]string{key("credits_low", 1): `{"params":["199","` + topUp + `"]}`}
		if got := f.outbox(t, acct); !maps.Equal(got, want) {
			t.Fatalf("outbox %v, want %v", got, want)
		}

		// The last 199 credits: the balance reaches zero; then 50 requests
		// are refused at once. One exhausted row for the period.
		f.request(t, acct, 199, 199)
		f.refuse(t, acct, 50, 1)
		f.waitWritten(t, 201)
		want[key("credits_exhausted", 1)] = `{"params":["` + topUp + `"]}`
		if got := f.outbox(t, acct); !maps.Equal(got, want) {
			t.Fatalf("outbox %v, want %v", got, want)
		}

		// A grant starts period 2 (10 credits). A request that needs 20 is
		// refused (the 402 alone raises the exhausted alert, with 10
		// left), and a debit from 10 to 1 crosses below 2.
		f.grant(t, acct, "payment:2", 10)
		f.refuse(t, acct, 50, 20)
		f.request(t, acct, 9, 9)
		f.waitWritten(t, 202)
		want[key("credits_exhausted", 2)] = `{"params":["` + topUp + `"]}`
		want[key("credits_low", 2)] = `{"params":["1","` + topUp + `"]}`
		if got := f.outbox(t, acct); !maps.Equal(got, want) {
			t.Fatalf("outbox %v, want %v", got, want)
		}
		if st := w.Stats(); st.Alerts != 4 || st.Parked != 0 {
			t.Fatalf("Stats = %+v, want 4 alerts written, none parked", st)
		}
		f.checkDurable(t, acct)
	})
}

// TestWriter_AlertReplayedOrRedeliveredWrittenOnce: an alert event seen
// twice (a replay, or a claim after a writer died before acknowledging)
// adds no second row: the dedupe key names the period.
func TestWriter_AlertReplayedOrRedeliveredWrittenOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		acct := f.account(t, 10)
		f.refuse(t, acct, 1, 20)
		msgs, err := f.env.Client.XRange(context.Background(), f.live.Keys().UsageStream(acct), "-", "+").Result()
		if err != nil || len(msgs) != 1 {
			t.Fatalf("stream %v, %v; want the one alert event", msgs, err)
		}
		for range 2 {
			f.replay(t, acct, msgs[0].Values)
		}
		cfg := f.config()
		cfg.TopUpURL = topUp
		w := f.start(t, cfg)
		eventually(t, "the streams drained", func() bool { return f.backlog(t) == 0 })
		want := map[string]string{fmt.Sprintf("credits_exhausted:%d:1", acct): `{"params":["` + topUp + `"]}`}
		if got := f.outbox(t, acct); !maps.Equal(got, want) {
			t.Fatalf("outbox %v, want %v", got, want)
		}
		if st := w.Stats(); st.Alerts != 1 || st.Parked != 0 {
			t.Fatalf("Stats = %+v, want 1 alert written", st)
		}
	})
}

// TestWriter_ReadsUsageFormat4: a gateway not yet upgraded writes format
// 4 (no alert) during a rolling deploy; the Writer records it as before.
func TestWriter_ReadsUsageFormat4(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		acct := f.account(t, 100)
		e := fmt.Sprintf("4\x1fold-1\x1f%d\x1f7\x1f0\x1f%d\x1f0\x1f3\x1f4\x1f7\x1f120\x1f30\x1f9\x1flocal\x1fok\x1fllama3.2:3b\x1fc-old",
			acct, time.Now().UnixMilli())
		if err := f.env.Client.XAdd(context.Background(), &redis.XAddArgs{Stream: f.live.Keys().UsageStream(acct),
			Values: map[string]any{"e": e}}).Err(); err != nil {
			t.Fatal(err)
		}
		w := f.start(t, f.config())
		f.waitWritten(t, 1)
		var credits, held int64
		var client string
		if err := f.db.SQL.QueryRow(`SELECT credits, held_credits, client_request_id FROM usage_records WHERE request_id = 'old-1'`).
			Scan(&credits, &held, &client); err != nil {
			t.Fatal(err)
		}
		var balance int64
		if err := f.db.SQL.QueryRow(`SELECT balance_credits FROM wallets WHERE account_id = ?`, acct).Scan(&balance); err != nil {
			t.Fatal(err)
		}
		if credits != 7 || held != 9 || client != "c-old" || balance != 93 {
			t.Fatalf("record credits %d, held %d, client %q, balance %d; want 7, 9, c-old, 93", credits, held, client, balance)
		}
		if st := w.Stats(); st.Written != 1 || st.Parked != 0 || st.Alerts != 0 {
			t.Fatalf("Stats = %+v", st)
		}
	})
}
