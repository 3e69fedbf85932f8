package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakemyfatoorah"
	"github.com/resayil/portal/pkg/myfatoorahsig"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/apitest"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// The shop's MyFatoorah settings in tests.
const (
	mfToken       = "mf-test-token"
	webhookSecret = "test-webhook-secret"
	publicURL     = "https://portal.example.com"
	returnURL     = publicURL + "/api/v1/billing/myfatoorah/return"
)

// shop is portal-api with the real MyFatoorah fake on the same clock, and
// the seeded plans and packs.
type shop struct {
	*apitest.Harness
	mf *fakemyfatoorah.Server
	// admin is the seeded admin's e-mail (password apitest.DefaultPassword).
	admin string
	// ids of the seeded catalog by code.
	plans, packs map[string]int64
}

// newShop starts the fake MyFatoorah and portal-api pointed at it.
func newShop(t *testing.T, b testenv.Backend, env ...string) *shop {
	t.Helper()
	clock := apitest.NewClock()
	mf := fakemyfatoorah.New(fakemyfatoorah.WithToken(mfToken), fakemyfatoorah.WithClock(clock.Now),
		fakemyfatoorah.WithWebhook("", webhookSecret, fakemyfatoorah.WebhookV2))
	t.Cleanup(mf.Close)
	h := harness(t, b, apitest.Options{Clock: clock, Env: append([]string{
		"RESAYIL_MYFATOORAH_BASE_URL=" + mf.URL(), "RESAYIL_MYFATOORAH_TOKEN=" + mfToken,
		"RESAYIL_MYFATOORAH_WEBHOOK_SECRET=" + webhookSecret, "RESAYIL_PUBLIC_URL=" + publicURL,
	}, env...)})
	hash, err := account.Hasher{Cost: 4}.Hash(apitest.DefaultPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin := apitest.UniqueEmail("admin")
	if _, err := h.App.Store.Seed(context.Background(), seedAdmin(admin, hash)); err != nil {
		t.Fatal(err)
	}
	s := &shop{Harness: h, mf: mf, admin: admin, plans: map[string]int64{}, packs: map[string]int64{}}
	for _, q := range []struct {
		table string
		into  map[string]int64
	}{{"subscription_plans", s.plans}, {"topup_packs", s.packs}} {
		rows, err := h.DB.SQL.Query("SELECT code, id FROM " + q.table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var code string
			var id int64
			if err := rows.Scan(&code, &id); err != nil {
				t.Fatal(err)
			}
			q.into[code] = id
		}
		rows.Close()
	}
	return s
}

// eachShop runs fn in parallel on SQLite and MariaDB, each with a shop.
func eachShop(t *testing.T, fn func(t *testing.T, s *shop)) {
	t.Helper()
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			fn(t, newShop(t, b))
		})
	}
}

type checkoutResult struct {
	PaymentID  int64  `json:"payment_id"`
	PaymentURL string `json:"payment_url"`
}

// started is a checkout: our payment and MyFatoorah's invoice.
type started struct {
	checkoutResult
	invoice int64
}

func (s *shop) checkout(t *testing.T, c *apitest.Client, body map[string]any) started {
	t.Helper()
	var out started
	c.Do(t, post("/api/v1/billing/checkout", body)).Want(t, http.StatusCreated).JSON(t, &out.checkoutResult)
	var inv string
	if err := s.DB.SQL.QueryRow("SELECT invoice_id FROM payments WHERE id = ?", out.PaymentID).Scan(&inv); err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseInt(inv, 10, 64)
	if err != nil {
		t.Fatalf("invoice id %q: %v", inv, err)
	}
	out.invoice = id
	return out
}

func (s *shop) topup(t *testing.T, c *apitest.Client, pack string) started {
	t.Helper()
	return s.checkout(t, c, map[string]any{"kind": "topup", "pack_id": s.packs[pack]})
}

func (s *shop) subscribe(t *testing.T, c *apitest.Client, plan string) started {
	t.Helper()
	return s.checkout(t, c, map[string]any{"kind": "subscription", "plan_id": s.plans[plan]})
}

// pay pays the invoice on the fake (no webhook is sent: tests deliver it).
func (s *shop) pay(t *testing.T, invoice int64) string {
	t.Helper()
	pid, err := s.mf.Pay(invoice)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// webhook builds the signed webhook of the invoice's latest transaction.
func (s *shop) webhook(t *testing.T, invoice int64) fakemyfatoorah.WebhookRequest {
	t.Helper()
	wr, err := s.mf.Webhook(invoice)
	if err != nil {
		t.Fatal(err)
	}
	return wr
}

// deliver posts a webhook with the given signature header ("" sends none).
func (s *shop) deliver(t *testing.T, body []byte, signature string) *apitest.Response {
	t.Helper()
	return s.Do(t, webhookRequest(body, signature))
}

// tryDeliver is deliver for a goroutine of the test's (apitest.Harness.Try).
func (s *shop) tryDeliver(body []byte, signature string) (*apitest.Response, error) {
	return s.Try(webhookRequest(body, signature))
}

func webhookRequest(body []byte, signature string) apitest.Request {
	r := apitest.Request{Method: "POST", Path: "/api/v1/webhooks/myfatoorah", Body: body, Header: map[string]string{}}
	if signature != "" {
		r.Header[myfatoorahsig.Header] = signature
	}
	return r
}

// deliverSigned delivers the invoice's webhook as MyFatoorah would.
func (s *shop) deliverSigned(t *testing.T, invoice int64) *apitest.Response {
	t.Helper()
	wr := s.webhook(t, invoice)
	return s.deliver(t, wr.Body, wr.Header.Get(myfatoorahsig.Header))
}

// browse follows MyFatoorah's redirect back to the portal, from a browser
// of its own (a fresh client IP: the return is throttled per IP), and
// returns the SPA result page it redirects to.
func (s *shop) browse(t *testing.T, paymentID string) url.Values {
	t.Helper()
	return s.browseFrom(t, apitest.RandomIP(), paymentID)
}

// browseFrom is browse from the client IP ip.
func (s *shop) browseFrom(t *testing.T, ip, paymentID string) url.Values {
	t.Helper()
	q, err := s.tryBrowseFrom(ip, paymentID)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// tryBrowse is browse for a goroutine of the test's (apitest.Harness.Try).
func (s *shop) tryBrowse(paymentID string) (url.Values, error) {
	return s.tryBrowseFrom(apitest.RandomIP(), paymentID)
}

func (s *shop) tryBrowseFrom(ip, paymentID string) (url.Values, error) {
	r := get("/api/v1/billing/myfatoorah/return?paymentId=" + url.QueryEscape(paymentID))
	r.Header = map[string]string{"X-Forwarded-For": ip}
	res, err := s.Try(r)
	if err != nil {
		return nil, err
	}
	if res.Status != http.StatusFound {
		return nil, fmt.Errorf("return: status %d, want %d; body: %s", res.Status, http.StatusFound, res.Body)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		return nil, err
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != publicURL+"/billing/result" {
		return nil, fmt.Errorf("redirect to %s, want the SPA's /billing/result", loc)
	}
	return loc.Query(), nil
}

// billingOf reads GET /api/v1/billing as the client.
type billingView struct {
	Status string `json:"status"`
	Plan   *struct {
		Code string `json:"code"`
	} `json:"plan"`
	SubscriptionID *int64     `json:"subscription_id"`
	ExpiresAt      *time.Time `json:"expires_at"`
	RenewalDate    *string    `json:"renewal_date"`
	EffectivePlan  struct {
		Code               string `json:"code"`
		RateLimitPerMinute int    `json:"rate_limit_per_minute"`
	} `json:"effective_plan"`
	BalanceCredits   int64 `json:"balance_credits"`
	AvailableCredits int64 `json:"available_credits"`
	PeriodCredits    int64 `json:"period_credits"`
}

func billingOf(t *testing.T, c *apitest.Client) billingView {
	t.Helper()
	var v billingView
	c.Do(t, get("/api/v1/billing")).Want(t, http.StatusOK).JSON(t, &v)
	return v
}

// count runs a COUNT(*) (or any one-integer query).
func (s *shop) count(t *testing.T, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := s.DB.SQL.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (s *shop) paymentStatus(t *testing.T, id int64) string {
	t.Helper()
	var st string
	if err := s.DB.SQL.QueryRow("SELECT status FROM payments WHERE id = ?", id).Scan(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// credited is how many ledger rows the payment has and their sum.
func (s *shop) credited(t *testing.T, paymentID int64) (rows, credits int64) {
	t.Helper()
	ref := fmt.Sprintf("payment:%d", paymentID)
	return s.count(t, "SELECT COUNT(*) FROM credit_ledger WHERE reference = ?", ref),
		s.count(t, "SELECT COALESCE(SUM(amount_credits), 0) FROM credit_ledger WHERE reference = ?", ref)
}

// verify is `portal-api ledger verify`: every balance equals its grants
// minus its debits (and, in Redis mode, the live balances agree).
func (s *shop) verify(t *testing.T) {
	t.Helper()
	rep, err := s.App.Ledger.Verify(context.Background(), ledger.VerifyOptions{Delay: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("ledger verify: %v", rep.Mismatches)
	}
}

// runJobs runs the jobs that are due on the shop's clock.
func (s *shop) runJobs(t *testing.T) {
	t.Helper()
	if err := s.App.Jobs.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}
