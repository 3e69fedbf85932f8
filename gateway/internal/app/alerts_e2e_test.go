package app_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

// outboxOf returns the account's outbox rows: dedupe key → payload.
func outboxOf(t *testing.T, db *database.DB, acct resayil.AccountID) map[string]string {
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

// waitOutbox waits until the account's outbox is want (Redis mode writes
// it with the usage, in the writer's batches).
func waitOutbox(t *testing.T, db *database.DB, acct resayil.AccountID, want map[string]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := outboxOf(t, db, acct)
		if maps.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox %v, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestE2E_BalanceAlertsOncePerPeriod: through the whole gateway, in both
// modes and on both databases, 200 concurrent requests against 10 credits
// (10 served, 190 refused with 402) leave exactly one credits_low row (the
// request that took the balance from 2 to 1) and one credits_exhausted row
// (the one that took it to zero; the 402s add nothing), each linking to
// RESAYIL_PUBLIC_URL/billing; a grant starts the next period, where they
// fire again.
func TestE2E_BalanceAlertsOncePerPeriod(t *testing.T) {
	const link = "https://portal.example/billing"
	for _, m := range modes {
		for _, b := range testenv.Backends {
			t.Run(m.name+"/"+string(b), func(t *testing.T) {
				t.Parallel()
				opts := m.opts
				opts.Backend = b
				opts.Env = append(opts.Env, "RESAYIL_PUBLIC_URL=https://portal.example")
				g := gatewaytest.Start(t, opts)
				gatewaytest.SetRateLimit(t, g.DB, "basic", 1000)
				g.App.Plans.Reload(context.Background())
				u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
				g.Fund(t, u.Account, 10)
				c := client(g, u.Key)
				var (
					mu    sync.Mutex
					codes = map[int]int{}
					wg    sync.WaitGroup
				)
				for range 200 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						// A 1-credit hold and a 1-credit charge.
						_, err := c.Chat.Completions.New(context.Background(), params("llama3.2:3b", 8))
						code := 200
						if err != nil {
							code = apiError(t, err).StatusCode
						}
						mu.Lock()
						codes[code]++
						mu.Unlock()
					}()
				}
				wg.Wait()
				if codes[200] != 10 || codes[402] != 190 {
					t.Fatalf("status counts %v, want 10×200 and 190×402", codes)
				}
				if n := g.WaitUsage(t, u.Account, 10); n != 10 {
					t.Fatalf("%d usage records, want 10", n)
				}
				key := func(event string, seq int) string { return fmt.Sprintf("%s:%d:%d", event, u.Account, seq) }
				want := map[string]string{
					key("credits_low", 1):       `{"params":["1","` + link + `"]}`,
					key("credits_exhausted", 1): `{"params":["` + link + `"]}`,
				}
				waitOutbox(t, g.DB, u.Account, want)

				// Period 2: 6 credits; 2 to 1 crosses below a fifth, 1 to 0
				// exhausts, and the 402 after it adds nothing.
				g.Fund(t, u.Account, 6)
				for range 6 {
					if _, err := c.Chat.Completions.New(context.Background(), params("llama3.2:3b", 8)); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := c.Chat.Completions.New(context.Background(), params("llama3.2:3b", 8)); apiError(t, err).StatusCode != 402 {
					t.Fatalf("a request on an empty balance: %v, want 402", err)
				}
				if n := g.WaitUsage(t, u.Account, 16); n != 16 {
					t.Fatalf("%d usage records, want 16", n)
				}
				want[key("credits_low", 2)] = `{"params":["1","` + link + `"]}`
				want[key("credits_exhausted", 2)] = `{"params":["` + link + `"]}`
				waitOutbox(t, g.DB, u.Account, want)
			})
		}
	}
}
