package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/fake/fakemyfatoorah"
	"github.com/resayil/portal/pkg/myfatoorahsig"
	"github.com/resayil/portal/portal-api/internal/apitest"
)

func TestCatalog(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		var plans struct {
			Data []struct {
				ID                 int64    `json:"id"`
				Code               string   `json:"code"`
				PriceFils          int64    `json:"price_fils"`
				Price              string   `json:"price"`
				Credits            int64    `json:"credits"`
				RateLimitPerMinute int      `json:"rate_limit_per_minute"`
				ModelClasses       []string `json:"model_classes"`
				Features           []string `json:"features"`
			} `json:"data"`
		}
		// Public: no token.
		s.Do(t, get("/api/v1/plans")).Want(t, http.StatusOK).JSON(t, &plans)
		type row struct {
			Code, Price          string
			PriceFils, Credits   int64
			Rate, Classes, Feats int
		}
		var got []row
		for _, p := range plans.Data {
			got = append(got, row{p.Code, p.Price, p.PriceFils, p.Credits, p.RateLimitPerMinute, len(p.ModelClasses), len(p.Features)})
		}
		want := []row{
			{"basic", "5.000 KWD", 5000, 5000, 10, 2, 3},
			{"pro", "15.000 KWD", 15000, 20000, 30, 4, 3},
			{"enterprise", "50.000 KWD", 50000, 100000, 60, 4, 4},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("plans (-want +got):\n%s", diff)
		}
		var packs struct {
			Data []struct {
				Code      string `json:"code"`
				Credits   int64  `json:"credits"`
				PriceFils int64  `json:"price_fils"`
				Price     string `json:"price"`
			} `json:"data"`
		}
		s.Do(t, get("/api/v1/topup-packs")).Want(t, http.StatusOK).JSON(t, &packs)
		if len(packs.Data) != 3 || packs.Data[0].Price != "2.500 KWD" || packs.Data[1].Price != "6.500 KWD" ||
			packs.Data[2].Credits != 50000 || packs.Data[2].PriceFils != 20000 {
			t.Errorf("packs: %+v", packs.Data)
		}
	})
}

func TestCheckout(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		t.Run("create201InvoiceAsMyFatoorahWantsIt", func(t *testing.T) {
			t.Parallel()
			c, u := s.SignUp(t, "buyer")
			p := s.topup(t, c, "topup-5k")
			inv, ok := s.mf.Invoice(p.invoice)
			if !ok {
				t.Fatal("no invoice at MyFatoorah")
			}
			var ref string
			var acct, fils, credits int64
			var status, currency string
			if err := s.DB.SQL.QueryRow("SELECT reference, account_id, amount_fils, credits, status, currency FROM payments WHERE id = ?", p.PaymentID).
				Scan(&ref, &acct, &fils, &credits, &status, &currency); err != nil {
				t.Fatal(err)
			}
			if acct != u.AccountID || fils != 2500 || credits != 5000 || status != "pending" || currency != "KWD" {
				t.Errorf("payment row: account %d fils %d credits %d %s %s", acct, fils, credits, status, currency)
			}
			if p.PaymentURL != s.mf.URL()+"/pay/"+strconv.FormatInt(p.invoice, 10) {
				t.Errorf("payment_url %q is not the InvoiceURL", p.PaymentURL)
			}
			if inv.CustomerReference != ref || inv.Value != 2500 || inv.Currency != "KWD" || inv.NotificationOption != "LNK" ||
				inv.CallBackURL != returnURL || inv.ErrorURL != returnURL || !inv.Expiry.Equal(s.Clock.Now().Truncate(time.Second).Add(48*time.Hour)) {
				t.Errorf("invoice: ref %q value %d %s %s callback %s error %s expiry %s (now %s)", inv.CustomerReference, inv.Value,
					inv.Currency, inv.NotificationOption, inv.CallBackURL, inv.ErrorURL, inv.Expiry, s.Clock.Now())
			}
			var page struct {
				Data []struct {
					ID         int64   `json:"id"`
					Status     string  `json:"status"`
					Amount     string  `json:"amount"`
					PaymentURL *string `json:"payment_url"`
				} `json:"data"`
			}
			c.Do(t, get("/api/v1/billing/payments")).Want(t, http.StatusOK).JSON(t, &page)
			if len(page.Data) != 1 || page.Data[0].ID != p.PaymentID || page.Data[0].Amount != "2.500 KWD" || page.Data[0].PaymentURL == nil {
				t.Errorf("payments: %+v", page.Data)
			}
		})
		t.Run("create400", func(t *testing.T) {
			t.Parallel()
			c, _ := s.SignUp(t, "buyer400")
			for _, tc := range []struct {
				body  map[string]any
				field string
			}{
				{map[string]any{}, "kind"},
				{map[string]any{"kind": "gift"}, "kind"},
				{map[string]any{"kind": "subscription"}, "plan_id"},
				{map[string]any{"kind": "topup", "plan_id": s.plans["pro"]}, "pack_id"},
				{map[string]any{"kind": "subscription", "plan_id": 999999}, "plan_id"},
				{map[string]any{"kind": "topup", "pack_id": 999999}, "pack_id"},
			} {
				e := c.Do(t, post("/api/v1/billing/checkout", tc.body)).Want(t, http.StatusBadRequest).Error(t)
				if e.Code != "invalid" || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
					t.Errorf("%v: %+v", tc.body, e)
				}
			}
			if n := s.count(t, "SELECT COUNT(*) FROM payments p JOIN users u ON u.account_id = p.account_id WHERE u.email = ?", c.Email); n != 0 {
				t.Errorf("%d payments recorded for refused checkouts", n)
			}
		})
		t.Run("myFatoorahDown502RowFailed", func(t *testing.T) {
			c, _ := s.SignUp(t, "down")
			for _, mode := range []fakemyfatoorah.FailMode{fakemyfatoorah.FailHTML500, fakemyfatoorah.FailHTML403, fakemyfatoorah.FailDrop} {
				s.mf.FailNext(1, mode)
				e := c.Do(t, post("/api/v1/billing/checkout", map[string]any{"kind": "topup", "pack_id": s.packs["topup-5k"]})).
					Want(t, http.StatusBadGateway).Error(t)
				if e.Code != "unavailable" || !strings.Contains(e.Message, "MyFatoorah") {
					t.Errorf("mode %d: %+v", mode, e)
				}
			}
			var failed, reasons int64
			failed = s.count(t, `SELECT COUNT(*) FROM payments p JOIN users u ON u.account_id = p.account_id WHERE u.email = ? AND p.status = 'failed'`, c.Email)
			reasons = s.count(t, `SELECT COUNT(*) FROM payments p JOIN users u ON u.account_id = p.account_id WHERE u.email = ? AND p.failure_reason LIKE 'SendPayment failed%'`, c.Email)
			if failed != 3 || reasons != 3 {
				t.Errorf("%d failed rows (%d with a reason), want 3", failed, reasons)
			}
			if b := billingOf(t, c); b.BalanceCredits != 0 {
				t.Errorf("balance %d", b.BalanceCredits)
			}
			s.verify(t)
		})
	})
}

// TestPayment_CreditedOnce is invariant 2: five concurrent webhook
// deliveries and the browser's return for one paid invoice credit it once.
func TestPayment_CreditedOnce(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		for _, kind := range []string{"topup", "subscription"} {
			t.Run(kind, func(t *testing.T) {
				t.Parallel()
				c, u := s.SignUp(t, "once-"+kind)
				var p started
				want := int64(5000)
				if kind == "topup" {
					p = s.topup(t, c, "topup-5k")
				} else {
					p, want = s.subscribe(t, c, "pro"), 20000
				}
				paymentID := s.pay(t, p.invoice)
				wr := s.webhook(t, p.invoice)
				sig := wr.Header.Get(myfatoorahsig.Header)
				var (
					wg       sync.WaitGroup
					errs     goErrs
					statuses = make(chan int, 5)
					result   string
				)
				for range 5 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						statuses <- errs.status(s.tryDeliver(wr.Body, sig))
					}()
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if q, err := s.tryBrowse(paymentID); errs.add(err) {
						result = q.Get("payment") + " " + q.Get("status")
					}
				}()
				wg.Wait()
				close(statuses)
				errs.report(t)
				for st := range statuses {
					if st != http.StatusOK {
						t.Errorf("webhook answered %d", st)
					}
				}
				if result != strconv.FormatInt(p.PaymentID, 10)+" paid" {
					t.Errorf("return redirected with %q", result)
				}
				// And once more each, in sequence, after the fact.
				s.deliver(t, wr.Body, sig).Want(t, http.StatusOK)
				if q := s.browse(t, paymentID); q.Get("status") != "paid" {
					t.Errorf("second return: %v", q)
				}
				if rows, sum := s.credited(t, p.PaymentID); rows != 1 || sum != want {
					t.Fatalf("ledger: %d rows, %d credits; want 1 row of %d", rows, sum, want)
				}
				if b := billingOf(t, c); b.BalanceCredits != want {
					t.Errorf("balance %d, want %d", b.BalanceCredits, want)
				}
				if st := s.paymentStatus(t, p.PaymentID); st != "paid" {
					t.Errorf("payment %s", st)
				}
				event := "topup_confirmed"
				if kind == "subscription" {
					event = "subscription_confirmed"
					if n := s.count(t, "SELECT COUNT(*) FROM subscriptions WHERE account_id = ?", u.AccountID); n != 1 {
						t.Errorf("%d subscriptions", n)
					}
					if n := s.count(t, "SELECT COUNT(*) FROM account_events WHERE kind = 'plan_changed' AND account_id = ?", u.AccountID); n != 1 {
						t.Errorf("%d plan_changed events, want 1", n)
					}
					b := billingOf(t, c)
					if b.Status != "active" || b.Plan == nil || b.Plan.Code != "pro" || b.EffectivePlan.RateLimitPerMinute != 30 ||
						b.ExpiresAt == nil || !b.ExpiresAt.Equal(s.Clock.Now().Truncate(time.Microsecond).Add(30*24*time.Hour)) || b.RenewalDate == nil {
						t.Errorf("billing after subscribing: %+v", b)
					}
				}
				if n := s.count(t, "SELECT COUNT(*) FROM notifications WHERE event = ? AND account_id = ?", event, u.AccountID); n != 1 {
					t.Errorf("%d %s notifications, want 1", n, event)
				}
				if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'payment.paid' AND target_id = ?", strconv.FormatInt(p.PaymentID, 10)); n != 1 {
					t.Errorf("%d audit rows", n)
				}
				s.verify(t)
			})
		}
	})
}

// TestPayment_NothingCredited: what is not a matching, paid invoice
// credits nothing (invariant 3).
func TestPayment_NothingCredited(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		nothing := func(t *testing.T, c *apitest.Client, p started) {
			t.Helper()
			if rows, _ := s.credited(t, p.PaymentID); rows != 0 {
				t.Errorf("%d ledger rows for payment %d", rows, p.PaymentID)
			}
			if b := billingOf(t, c); b.BalanceCredits != 0 || b.Status != "none" {
				t.Errorf("billing: %+v", b)
			}
			s.verify(t)
		}
		// Not parallel: it counts the shop's GetPaymentStatus calls, which
		// parallel siblings on the same fake would also increase.
		t.Run("badOrMissingSignature401", func(t *testing.T) {
			c, _ := s.SignUp(t, "badsig")
			p := s.topup(t, c, "topup-5k")
			s.pay(t, p.invoice)
			wr := s.webhook(t, p.invoice)
			sig := wr.Header.Get(myfatoorahsig.Header)
			forged, err := myfatoorahsig.SignV2PaymentStatus(wr.Body, "not-the-secret")
			if err != nil {
				t.Fatal(err)
			}
			calls := s.mf.StatusCalls()
			for _, bad := range []string{"", forged, "x" + sig[1:]} {
				if e := s.deliver(t, wr.Body, bad).Want(t, http.StatusUnauthorized).Error(t); e.Code != "unauthorized" {
					t.Errorf("%+v", e)
				}
			}
			// A valid signature over another body does not carry over.
			tampered := strings.Replace(string(wr.Body), `"PAID"`, `"PENDING"`, 1)
			s.deliver(t, []byte(tampered), sig).Want(t, http.StatusUnauthorized)
			if got := s.mf.StatusCalls(); got != calls {
				t.Errorf("refused webhooks asked MyFatoorah %d times", got-calls)
			}
			if st := s.paymentStatus(t, p.PaymentID); st != "pending" {
				t.Errorf("payment %s after refused webhooks", st)
			}
			nothing(t, c, p)
		})
		review := func(t *testing.T, p started, wantReason string) {
			t.Helper()
			if st := s.paymentStatus(t, p.PaymentID); st != "needs_review" {
				t.Fatalf("payment %s, want needs_review", st)
			}
			var reason string
			s.DB.SQL.QueryRow("SELECT failure_reason FROM payments WHERE id = ?", p.PaymentID).Scan(&reason)
			if !strings.Contains(reason, wantReason) {
				t.Errorf("reason %q lacks %q", reason, wantReason)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM notifications WHERE event = 'payment_needs_review' AND audience = 'admins' AND dedupe_key = ?",
				"payment_needs_review:payment:"+strconv.FormatInt(p.PaymentID, 10)); n != 1 {
				t.Errorf("%d admin alerts", n)
			}
		}
		t.Run("wrongAmount", func(t *testing.T) {
			t.Parallel()
			c, _ := s.SignUp(t, "amount")
			p := s.topup(t, c, "topup-5k")
			if err := s.mf.OverrideAmount(p.invoice, 1000, ""); err != nil {
				t.Fatal(err)
			}
			paymentID := s.pay(t, p.invoice)
			s.deliverSigned(t, p.invoice).Want(t, http.StatusOK)
			s.deliverSigned(t, p.invoice).Want(t, http.StatusOK)
			if q := s.browse(t, paymentID); q.Get("status") != "pending" {
				t.Errorf("return: %v", q)
			}
			review(t, p, "was paid 1.000")
			nothing(t, c, p)
		})
		t.Run("wrongCurrency", func(t *testing.T) {
			t.Parallel()
			c, _ := s.SignUp(t, "currency")
			p := s.topup(t, c, "topup-5k")
			if err := s.mf.OverrideAmount(p.invoice, 2500, "USD"); err != nil {
				t.Fatal(err)
			}
			s.pay(t, p.invoice)
			s.deliverSigned(t, p.invoice).Want(t, http.StatusOK)
			review(t, p, `"USD"`)
			nothing(t, c, p)
		})
		t.Run("unknownReference", func(t *testing.T) {
			t.Parallel()
			c, _ := s.SignUp(t, "unknown")
			// An invoice someone made on the merchant account, not through
			// the portal: its reference is no payment of ours.
			stranger := s.foreignInvoice(t, "rsy_not-ours", "2.500")
			paymentID := s.pay(t, stranger)
			s.deliverSigned(t, stranger).Want(t, http.StatusOK)
			if q := s.browse(t, paymentID); q.Get("status") != "failed" || q.Has("payment") {
				t.Errorf("return for a stranger's invoice: %v", q)
			}
			// Our payment whose invoice MyFatoorah reports under another
			// reference: held for review, never credited.
			p := s.topup(t, c, "topup-5k")
			other := s.foreignInvoice(t, "rsy_someone-else", "2.500")
			s.DB.SQL.Exec("UPDATE payments SET invoice_id = ? WHERE id = ?", strconv.FormatInt(other, 10), p.PaymentID)
			s.pay(t, other)
			s.deliverSigned(t, other).Want(t, http.StatusOK)
			review(t, p, "CustomerReference")
			nothing(t, c, p)
			if n := s.count(t, "SELECT COUNT(*) FROM credit_ledger WHERE kind = 'payment'"); n != s.count(t, "SELECT COUNT(*) FROM payments WHERE status = 'paid'") {
				t.Errorf("%d payment grants for a different number of paid payments", n)
			}
		})
		t.Run("pendingDeclinedCard", func(t *testing.T) {
			t.Parallel()
			c, _ := s.SignUp(t, "declined")
			p := s.topup(t, c, "topup-5k")
			paymentID, err := s.mf.Fail(p.invoice)
			if err != nil {
				t.Fatal(err)
			}
			s.deliverSigned(t, p.invoice).Want(t, http.StatusOK)
			if q := s.browse(t, paymentID); q.Get("status") != "failed" || q.Get("payment") != strconv.FormatInt(p.PaymentID, 10) {
				t.Errorf("return after a declined card: %v", q)
			}
			if st := s.paymentStatus(t, p.PaymentID); st != "pending" {
				t.Errorf("payment %s: a declined card leaves the invoice payable", st)
			}
			nothing(t, c, p)
		})
		t.Run("canceled", func(t *testing.T) {
			t.Parallel()
			c, _ := s.SignUp(t, "canceled")
			p := s.topup(t, c, "topup-5k")
			paymentID, err := s.mf.Fail(p.invoice)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.mf.Cancel(p.invoice); err != nil {
				t.Fatal(err)
			}
			s.deliverSigned(t, p.invoice).Want(t, http.StatusOK)
			if q := s.browse(t, paymentID); q.Get("status") != "failed" {
				t.Errorf("return after cancel: %v", q)
			}
			if st := s.paymentStatus(t, p.PaymentID); st != "failed" {
				t.Errorf("payment %s, want failed", st)
			}
			nothing(t, c, p)
		})
		// Not parallel either: it counts the shop's GetPaymentStatus calls.
		t.Run("otherEventsAcknowledged", func(t *testing.T) {
			calls := s.mf.StatusCalls()
			s.deliver(t, []byte(`{"Event":{"Code":3,"Name":"BALANCE_TRANSFERRED"},"Data":{}}`), "").Want(t, http.StatusOK)
			if s.mf.StatusCalls() != calls {
				t.Error("an ignored event asked MyFatoorah")
			}
			s.deliver(t, []byte(`not json`), "x").Want(t, http.StatusUnauthorized)
		})
	})
}

// foreignInvoice creates an invoice directly on the fake MyFatoorah, as
// someone using the merchant account outside the portal would.
func (s *shop) foreignInvoice(t *testing.T, reference, value string) int64 {
	t.Helper()
	body := `{"InvoiceValue":` + value + `,"CustomerName":"Stranger","NotificationOption":"LNK","DisplayCurrencyIso":"KWD","CustomerReference":"` + reference + `"}`
	req, _ := http.NewRequest("POST", s.mf.URL()+fakemyfatoorah.PathSendPayment, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+mfToken)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	invs := s.mf.Invoices()
	for i := len(invs) - 1; i >= 0; i-- {
		if invs[i].CustomerReference == reference {
			return invs[i].ID
		}
	}
	t.Fatalf("no invoice with reference %s", reference)
	return 0
}

// TestBillingRoutes_Auth checks the billing routes a browser reaches without
// a token refuse it, and the ones MyFatoorah calls need none.
func TestBillingRoutes_Auth(t *testing.T) {
	s := newShop(t, "sqlite")
	for _, r := range []apitest.Request{
		get("/api/v1/billing"), get("/api/v1/billing/payments"), get("/api/v1/billing/payments/1"),
		post("/api/v1/billing/checkout", map[string]any{"kind": "topup", "pack_id": 1}),
		post("/api/v1/admin/users/1/credits", map[string]any{"delta": 1, "reason": "x"}),
	} {
		s.Do(t, r).Want(t, http.StatusUnauthorized)
	}
	if q := s.browse(t, ""); q.Get("status") != "failed" {
		t.Errorf("return without paymentId: %v", q)
	}
	c, _ := s.SignUp(t, "other")
	c.Do(t, get("/api/v1/billing/payments/999")).Want(t, http.StatusNotFound)
	// Another account's payment is not found either.
	owner, _ := s.SignUp(t, "owner")
	p := s.topup(t, owner, "topup-5k")
	c.Do(t, get("/api/v1/billing/payments/"+strconv.FormatInt(p.PaymentID, 10))).Want(t, http.StatusNotFound)
	owner.Do(t, get("/api/v1/billing/payments/"+strconv.FormatInt(p.PaymentID, 10))).Want(t, http.StatusOK)
}

// TestCheckout_TokenRefused502: MyFatoorah refusing the API token (an empty
// 401, §3.2) is a 502 with the payment failed, like an outage.
func TestCheckout_TokenRefused502(t *testing.T) {
	s := newShop(t, "sqlite", "RESAYIL_MYFATOORAH_TOKEN=revoked-token")
	c, _ := s.SignUp(t, "refused")
	e := c.Do(t, post("/api/v1/billing/checkout", map[string]any{"kind": "subscription", "plan_id": s.plans["basic"]})).
		Want(t, http.StatusBadGateway).Error(t)
	if e.Code != "unavailable" {
		t.Errorf("%+v", e)
	}
	var reason string
	if err := s.DB.SQL.QueryRow("SELECT failure_reason FROM payments WHERE status = 'failed'").Scan(&reason); err != nil || !strings.Contains(reason, "token") {
		t.Errorf("failure_reason %q (%v)", reason, err)
	}
}
