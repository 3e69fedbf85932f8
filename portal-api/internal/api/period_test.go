package api_test

import (
	"net/http"
	"testing"

	"github.com/resayil/portal/pkg/testenv"
)

// TestBilling_PeriodCredits: GET /api/v1/billing's period_credits is the
// balance right after the most recent grant, whatever the kind of grant
// (a top-up, a positive admin adjustment, a subscription), and a debit
// (a negative adjustment) leaves it alone; in the embedded mode and with
// Redis as the live wallet, on both databases
// (docs/adr/0012-credits-of-this-period.md).
func TestBilling_PeriodCredits(t *testing.T) {
	for _, mode := range []string{"embedded", "redis"} {
		for _, b := range testenv.Backends {
			t.Run(mode+"/"+string(b), func(t *testing.T) {
				t.Parallel()
				var env []string
				if mode == "redis" {
					r := testenv.Redis(t)
					env = []string{"RESAYIL_REDIS_URL=" + r.URL, "RESAYIL_REDIS_PREFIX=" + r.Prefix}
				}
				s := newShop(t, b, env...)
				c, u := s.SignUp(t, "period")
				want := func(step string, balance, period int64) {
					t.Helper()
					v := billingOf(t, c)
					if v.BalanceCredits != balance || v.PeriodCredits != period {
						t.Fatalf("after %s: balance %d, period %d; want %d, %d", step, v.BalanceCredits, v.PeriodCredits, balance, period)
					}
					if n := s.count(t, "SELECT period_credits FROM wallets WHERE account_id = ?", u.AccountID); balance != 0 && n != period {
						t.Fatalf("after %s: wallets.period_credits = %d, want %d", step, n, period)
					}
				}
				want("nothing", 0, 0)

				p := s.topup(t, c, "topup-5k")
				s.pay(t, p.invoice)
				s.deliverSigned(t, p.invoice).Want(t, http.StatusOK)
				want("a top-up", 5000, 5000)

				admin := s.adminClient(t)
				admin.Do(t, adjust(u.ID, -1000, "a debit")).Want(t, http.StatusCreated)
				want("a negative adjustment", 4000, 5000)

				admin.Do(t, adjust(u.ID, 500, "a gift")).Want(t, http.StatusCreated)
				want("a positive adjustment", 4500, 4500)

				p = s.subscribe(t, c, "basic")
				s.pay(t, p.invoice)
				s.deliverSigned(t, p.invoice).Want(t, http.StatusOK)
				want("a subscription", 9500, 9500)
				s.verify(t)
			})
		}
	}
}
