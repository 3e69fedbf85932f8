package admission_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/admission"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitmem"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletsql"
)

// TestAdmit_InsufficientCreditsRaisesExhaustedOnce: the embedded mode's
// 402 writes the account's credits_exhausted row, once for 50 refusals at
// once, and again after a grant starts a new period.
func TestAdmit_InsufficientCreditsRaisesExhaustedOnce(t *testing.T) {
	for _, backend := range testenv.Backends {
		t.Run(string(backend), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := testenv.Open(t, backend)
			now := time.Now().UTC()
			res, err := db.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('user', 'active', ?, ?)`, now, now)
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.LastInsertId()
			acct := resayil.AccountID(id)
			w := walletsql.New(db, walletsql.Config{TopUpURL: "https://portal.example/billing"})
			grant := func(ref string) {
				t.Helper()
				if ok, err := w.Credit(ctx, wallet.Grant{Reference: ref, Account: acct, Amount: 1}); !ok || err != nil {
					t.Fatalf("Credit = %v, %v", ok, err)
				}
			}
			grant("payment:1")
			// The request's minimum hold is 6 credits (prompt 5 + 1 token):
			// more than the 1 there is.
			c, err := catalog.Parse([]byte("models:\n  - id: m\n    class: small\n    local: m\n    max_output_tokens: 100\n    credits_per_1k_tokens: 1000\n"), nil)
			if err != nil {
				t.Fatal(err)
			}
			a := &admission.Admission{
				Catalog: catalog.NewLive(c), Store: admission.Embedded{Limiter: ratelimitmem.New(ratelimitmem.Config{}), Wallet: w},
				Wallet: w, Plans: plans{basic},
			}
			admitMany := func(name string, n int) {
				t.Helper()
				var wg sync.WaitGroup
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, _, err := a.Admit(ctx, resayil.Principal{KeyID: 1, Account: acct, Plan: basic},
							admission.Request{RequestID: fmt.Sprintf("%s-%d", name, i), Model: "m", PromptBytes: 10, MaxTokens: 10, N: 1})
						var r *admission.Refusal
						if !errors.As(err, &r) || r.Status != 402 {
							t.Errorf("Admit = %v, want a 402", err)
						}
					}()
				}
				wg.Wait()
			}
			rows := func() []string {
				t.Helper()
				r, err := db.SQL.Query(`SELECT dedupe_key FROM notifications WHERE account_id = ? ORDER BY dedupe_key`, acct)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				var keys []string
				for r.Next() {
					var k string
					if err := r.Scan(&k); err != nil {
						t.Fatal(err)
					}
					keys = append(keys, k)
				}
				return keys
			}
			admitMany("first", 50)
			want := fmt.Sprintf("[credits_exhausted:%d:1]", acct)
			if got := fmt.Sprint(rows()); got != want {
				t.Fatalf("outbox %s, want %s", got, want)
			}
			grant("payment:2")
			admitMany("second", 5)
			want = fmt.Sprintf("[credits_exhausted:%d:1 credits_exhausted:%d:2]", acct, acct)
			if got := fmt.Sprint(rows()); got != want {
				t.Fatalf("outbox %s, want %s", got, want)
			}
		})
	}
}
