package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

// buy posts a checkout and returns the answer's status and body.
func (s *shop) buy(t *testing.T, c *apitest.Client, item map[string]any) (int, checkoutResult, *apitest.Response) {
	t.Helper()
	status, out, res, err := s.tryBuy(c, item)
	if res == nil {
		t.Fatal(err)
	}
	if err != nil {
		t.Error(err)
	}
	return status, out, res
}

// tryBuy is buy for a goroutine of the test's (apitest.Harness.Try); c's
// calls still go one at a time, the checkouts here carry no refresh cookie.
func (s *shop) tryBuy(c *apitest.Client, item map[string]any) (int, checkoutResult, *apitest.Response, error) {
	res, err := c.Try(post("/api/v1/billing/checkout", item))
	if res == nil {
		return 0, checkoutResult{}, nil, err
	}
	var out checkoutResult
	if res.Status == http.StatusCreated || res.Status == http.StatusOK {
		if jerr := json.Unmarshal(res.Body, &out); jerr != nil {
			err = errors.Join(err, fmt.Errorf("decode %q: %w", res.Body, jerr))
		}
	}
	return res.Status, out, res, err
}

func (s *shop) pack(code string) map[string]any {
	return map[string]any{"kind": "topup", "pack_id": s.packs[code]}
}

func (s *shop) plan(code string) map[string]any {
	return map[string]any{"kind": "subscription", "plan_id": s.plans[code]}
}

// items are the six things on sale in the seeded catalog.
func (s *shop) items() []map[string]any {
	return []map[string]any{
		s.pack("topup-5k"), s.pack("topup-15k"), s.pack("topup-50k"),
		s.plan("basic"), s.plan("pro"), s.plan("enterprise"),
	}
}

// invoicesOf counts the invoices at MyFatoorah of the account's payments.
func (s *shop) invoicesOf(t *testing.T, accountID int64) int {
	t.Helper()
	rows, err := s.DB.SQL.Query("SELECT reference FROM payments WHERE account_id = ?", accountID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	refs := map[string]bool{}
	for rows.Next() {
		var ref string
		if err := rows.Scan(&ref); err != nil {
			t.Fatal(err)
		}
		refs[ref] = true
	}
	n := 0
	for _, inv := range s.mf.Invoices() {
		if refs[inv.CustomerReference] {
			n++
		}
	}
	return n
}

// TestCheckout_SameItemWhilePending: buying an item again while its
// checkout is pending returns that checkout (200, same payment_id and
// payment_url, no new invoice); once it is paid, or about to expire, a new
// one is made.
func TestCheckout_SameItemWhilePending(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		c, u := s.SignUp(t, "again")
		first := s.topup(t, c, "topup-5k")
		for range 2 {
			status, again, _ := s.buy(t, c, s.pack("topup-5k"))
			if status != http.StatusOK || again != first.checkoutResult {
				t.Fatalf("same pack again: %d %+v, want 200 %+v", status, again, first.checkoutResult)
			}
		}
		if n := s.invoicesOf(t, u.AccountID); n != 1 {
			t.Fatalf("%d invoices for one item bought three times", n)
		}
		// Another item is another checkout.
		if other := s.subscribe(t, c, "pro"); other.PaymentID == first.PaymentID {
			t.Fatal("a plan got the pack's checkout")
		}
		status, again, _ := s.buy(t, c, s.plan("pro"))
		if status != http.StatusOK || again.PaymentID == first.PaymentID {
			t.Fatalf("same plan again: %d %+v", status, again)
		}

		// Paid: the next purchase of the item is a new payment.
		if q := s.browse(t, s.pay(t, first.invoice)); q.Get("status") != "paid" {
			t.Fatalf("pay: %v", q)
		}
		second := s.topup(t, c, "topup-5k")
		if second.PaymentID == first.PaymentID {
			t.Fatal("a paid checkout was handed out again")
		}

		// With less than an hour left to pay, a fresh invoice instead;
		// the old one stays pending and is still credited if paid.
		s.Clock.Advance(47*time.Hour + 30*time.Minute)
		c.Login(t, c.Email, apitest.DefaultPassword, false)
		third := s.topup(t, c, "topup-5k")
		if third.PaymentID == second.PaymentID {
			t.Fatal("a checkout about to expire was handed out again")
		}
		if st := s.paymentStatus(t, second.PaymentID); st != "pending" {
			t.Fatalf("old checkout %s", st)
		}
		if q := s.browse(t, s.pay(t, second.invoice)); q.Get("status") != "paid" {
			t.Fatalf("old checkout paid: %v", q)
		}
		if rows, credits := s.credited(t, second.PaymentID); rows != 1 || credits != 5000 {
			t.Fatalf("old checkout credited %d rows %d credits", rows, credits)
		}
		s.verify(t)
	})
}

// TestCheckout_PendingCap: five checkouts waiting for payment, then 429
// with Retry-After (when the oldest expires) and a clear message; paying
// one, or its expiry, makes room. Other accounts are not affected.
func TestCheckout_PendingCap(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		c, u := s.SignUp(t, "capped")
		items := s.items()
		var first started
		for i, item := range items[:5] {
			p := s.checkout(t, c, item)
			if i == 0 {
				first = p
			}
			s.Clock.Advance(time.Minute)
		}
		status, _, res := s.buy(t, c, items[5])
		if status != http.StatusTooManyRequests {
			t.Fatalf("sixth pending checkout: %d %s", status, res.Body)
		}
		e := res.Error(t)
		if e.Code != "rate_limited" || !strings.Contains(e.Message, "5 payments waiting") {
			t.Errorf("429 body: %+v", e)
		}
		// The oldest expires 48 hours after it was made, 5 minutes ago.
		if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra != int((48*time.Hour-5*time.Minute).Seconds()) {
			t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
		}
		if n := s.invoicesOf(t, u.AccountID); n != 5 {
			t.Fatalf("%d invoices after a refused checkout", n)
		}
		// An item already pending is still handed out at the cap.
		if status, again, _ := s.buy(t, c, items[0]); status != http.StatusOK || again != first.checkoutResult {
			t.Fatalf("pending item at the cap: %d %+v", status, again)
		}
		// Another account is not affected.
		other, _ := s.SignUp(t, "uncapped")
		s.checkout(t, other, items[5])

		// Paying one makes room for one.
		if q := s.browse(t, s.pay(t, first.invoice)); q.Get("status") != "paid" {
			t.Fatalf("pay: %v", q)
		}
		s.checkout(t, c, items[5])
		if status, _, _ := s.buy(t, c, items[0]); status != http.StatusTooManyRequests {
			t.Fatalf("at the cap again: %d", status)
		}

		// Expired checkouts do not count.
		s.Clock.Advance(48 * time.Hour)
		s.runJobs(t)
		c.Login(t, c.Email, apitest.DefaultPassword, false)
		s.checkout(t, c, items[0])
	})
}

// TestCheckout_CapConfigurable: RESAYIL_MAX_PENDING_CHECKOUTS sets the cap.
func TestCheckout_CapConfigurable(t *testing.T) {
	s := newShop(t, "sqlite", "RESAYIL_MAX_PENDING_CHECKOUTS=1")
	c, _ := s.SignUp(t, "one")
	s.topup(t, c, "topup-5k")
	if status, _, _ := s.buy(t, c, s.pack("topup-15k")); status != http.StatusTooManyRequests {
		t.Fatalf("second pending checkout with a cap of 1: %d", status)
	}
}

// TestCheckout_Concurrent: parallel identical checkouts make one invoice
// and all get it; parallel distinct ones never pass the cap.
func TestCheckout_Concurrent(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		t.Run("identical", func(t *testing.T) {
			t.Parallel()
			c, u := s.SignUp(t, "twice")
			const n = 8
			results := make([]checkoutResult, n)
			statuses := make([]int, n)
			var (
				wg   sync.WaitGroup
				errs goErrs
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var err error
					statuses[i], results[i], _, err = s.tryBuy(c, s.pack("topup-15k"))
					errs.add(err)
				}()
			}
			wg.Wait()
			errs.report(t)
			created := 0
			for i := range n {
				switch statuses[i] {
				case http.StatusCreated:
					created++
				case http.StatusOK:
				default:
					t.Fatalf("request %d: %d", i, statuses[i])
				}
				if results[i] != results[0] || results[i].PaymentURL == "" {
					t.Errorf("request %d got %+v, request 0 %+v", i, results[i], results[0])
				}
			}
			if created != 1 {
				t.Errorf("%d answers 201, want 1", created)
			}
			if rows, inv := s.count(t, "SELECT COUNT(*) FROM payments WHERE account_id = ?", u.AccountID), s.invoicesOf(t, u.AccountID); rows != 1 || inv != 1 {
				t.Errorf("%d payments and %d invoices for %d identical checkouts", rows, inv, n)
			}
		})
		t.Run("distinct", func(t *testing.T) {
			t.Parallel()
			c, u := s.SignUp(t, "many")
			items := s.items()
			// Each of the six items twice, all at once, against a cap of 5.
			type answer struct {
				status int
				item   int
				out    checkoutResult
			}
			answers := make(chan answer, 2*len(items))
			var (
				wg   sync.WaitGroup
				errs goErrs
			)
			for i, item := range items {
				for range 2 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						status, out, _, err := s.tryBuy(c, item)
						errs.add(err)
						answers <- answer{status, i, out}
					}()
				}
			}
			wg.Wait()
			errs.report(t)
			close(answers)
			ids := map[int64]int{} // payment id → item
			refused := map[int]int{}
			for a := range answers {
				switch a.status {
				case http.StatusCreated, http.StatusOK:
					if item, ok := ids[a.out.PaymentID]; ok && item != a.item {
						t.Errorf("payment %d handed out for items %d and %d", a.out.PaymentID, item, a.item)
					}
					ids[a.out.PaymentID] = a.item
				case http.StatusTooManyRequests:
					refused[a.item]++
				default:
					t.Fatalf("item %d: %d", a.item, a.status)
				}
			}
			// Five items got one payment each (both requests the same);
			// the sixth was refused twice.
			if len(ids) != 5 || len(refused) != 1 {
				t.Errorf("%d payments, refused %v; want 5 payments and one item refused", len(ids), refused)
			}
			for item, n := range refused {
				if n != 2 {
					t.Errorf("item %d refused %d times, want 2", item, n)
				}
			}
			if pending, inv := s.count(t, "SELECT COUNT(*) FROM payments WHERE account_id = ? AND status = 'pending'", u.AccountID), s.invoicesOf(t, u.AccountID); pending != 5 || inv != 5 {
				t.Errorf("%d pending payments and %d invoices, want 5 each", pending, inv)
			}
		})
	})
}
