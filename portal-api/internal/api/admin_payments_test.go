package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

type paymentEvent struct {
	Source             string  `json:"source"`
	ProviderStatus     string  `json:"provider_status"`
	ProviderAmountFils *int64  `json:"provider_amount_fils"`
	ProviderAmount     *string `json:"provider_amount"`
	ProviderCurrency   string  `json:"provider_currency"`
	InvoiceID          string  `json:"invoice_id"`
	ProviderPaymentID  string  `json:"provider_payment_id"`
	Decision           string  `json:"decision"`
	StatusBefore       string  `json:"status_before"`
	StatusAfter        string  `json:"status_after"`
	Detail             string  `json:"detail"`
	ActorUserID        *int64  `json:"actor_user_id"`
}

type adminPayment struct {
	ID                int64   `json:"id"`
	AccountID         int64   `json:"account_id"`
	Kind              string  `json:"kind"`
	Status            string  `json:"status"`
	InvoiceID         *string `json:"invoice_id"`
	ProviderPaymentID *string `json:"provider_payment_id"`
	FailureReason     *string `json:"failure_reason"`
}

type adminPaymentDetail struct {
	Payment     adminPayment   `json:"payment"`
	Events      []paymentEvent `json:"events"`
	HistoryNote string         `json:"history_note"`
}

func (s *shop) paymentPage(t *testing.T, admin *apitest.Client, id int64) adminPaymentDetail {
	t.Helper()
	var d adminPaymentDetail
	admin.Do(t, get(fmt.Sprintf("/api/v1/admin/payments/%d", id))).Want(t, http.StatusOK).JSON(t, &d)
	return d
}

func resolve(id int64, action, reason any) apitest.Request {
	body := map[string]any{}
	if action != nil {
		body["action"] = action
	}
	if reason != nil {
		body["reason"] = reason
	}
	return post(fmt.Sprintf("/api/v1/admin/payments/%d/resolve", id), body)
}

// eventTrail is an event's source, decision and statuses.
func eventTrail(evs []paymentEvent) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.Source+":"+e.Decision+":"+e.StatusBefore+">"+e.StatusAfter)
	}
	return out
}

// TestAdminPayments_EventsFromReturnWebhookRecheck: the browser's return,
// the webhook and the re-check job each record what MyFatoorah answered
// and what was decided; a re-check that finds nothing new records
// nothing.
func TestAdminPayments_EventsFromReturnWebhookRecheck(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		c, _ := s.SignUp(t, "events")

		// The browser comes back first; then the webhook of the same payment.
		viaReturn := s.topup(t, c, "topup-5k")
		pid := s.pay(t, viaReturn.invoice)
		if q := s.browse(t, pid); q.Get("status") != "paid" {
			t.Fatalf("return: %v", q)
		}
		s.deliverSigned(t, viaReturn.invoice).Want(t, http.StatusOK)
		d := s.paymentPage(t, admin, viaReturn.PaymentID)
		if got, want := eventTrail(d.Events), []string{"browser_return:credited:pending>paid", "webhook:unchanged:paid>paid"}; !cmp.Equal(got, want) {
			t.Fatalf("events %v, want %v", got, want)
		}
		e := d.Events[0]
		inv := fmt.Sprint(viaReturn.invoice)
		if e.ProviderStatus != "Paid" || e.ProviderAmountFils == nil || *e.ProviderAmountFils != 2500 || *e.ProviderAmount != "2.500" ||
			e.ProviderCurrency != "KWD" || e.InvoiceID != inv || e.ProviderPaymentID != pid || e.ActorUserID != nil {
			t.Errorf("return event %+v", e)
		}
		if d.Payment.InvoiceID == nil || *d.Payment.InvoiceID != inv || d.Payment.ProviderPaymentID == nil || *d.Payment.ProviderPaymentID != pid {
			t.Errorf("payment ids %+v", d.Payment)
		}
		if d.HistoryNote == "" {
			t.Error("no history note")
		}

		viaWebhook := s.topup(t, c, "topup-5k")
		s.pay(t, viaWebhook.invoice)
		s.deliverSigned(t, viaWebhook.invoice).Want(t, http.StatusOK)
		if got := eventTrail(s.paymentPage(t, admin, viaWebhook.PaymentID).Events); !cmp.Equal(got, []string{"webhook:credited:pending>paid"}) {
			t.Errorf("webhook events %v", got)
		}

		// A mismatch is held for review, with what MyFatoorah reported.
		mismatch := s.topup(t, c, "topup-15k")
		if err := s.mf.OverrideAmount(mismatch.invoice, 1000, ""); err != nil {
			t.Fatal(err)
		}
		s.pay(t, mismatch.invoice)
		s.deliverSigned(t, mismatch.invoice).Want(t, http.StatusOK)
		d = s.paymentPage(t, admin, mismatch.PaymentID)
		if got := eventTrail(d.Events); !cmp.Equal(got, []string{"webhook:needs_review:pending>needs_review"}) {
			t.Errorf("mismatch events %v", got)
		} else if e := d.Events[0]; *e.ProviderAmountFils != 1000 || e.Detail == "" {
			t.Errorf("mismatch event %+v", e)
		}

		// The re-check job: one paid without a webhook, one never paid.
		viaRecheck := s.topup(t, c, "topup-5k")
		unpaid := s.topup(t, c, "topup-50k")
		s.pay(t, viaRecheck.invoice)
		s.Clock.Advance(11 * time.Minute)
		relogin(t, admin)
		if _, err := s.App.Billing.RecheckPayments(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := eventTrail(s.paymentPage(t, admin, viaRecheck.PaymentID).Events); !cmp.Equal(got, []string{"recheck:credited:pending>paid"}) {
			t.Errorf("re-check events %v", got)
		}
		if got := s.paymentPage(t, admin, unpaid.PaymentID).Events; len(got) != 0 {
			t.Errorf("a re-check that changed nothing recorded %v", eventTrail(got))
		}
		s.Clock.Advance(49 * time.Hour)
		relogin(t, admin)
		if _, err := s.App.Billing.RecheckPayments(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := eventTrail(s.paymentPage(t, admin, unpaid.PaymentID).Events); !cmp.Equal(got, []string{"recheck:expired:pending>expired"}) {
			t.Errorf("expiry events %v", got)
		}
	})
}

// TestAdminPayments_ResolveCreditsExactlyOnce: five admins crediting the
// same payment at once credit it once (one 200, four 409), with one
// audit row and one event in the same transaction as the grant.
func TestAdminPayments_ResolveCreditsExactlyOnce(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		c, _ := s.SignUp(t, "review")
		held := func(pack string) started {
			p := s.topup(t, c, pack)
			if err := s.mf.OverrideAmount(p.invoice, 1, ""); err != nil {
				t.Fatal(err)
			}
			s.pay(t, p.invoice)
			s.deliverSigned(t, p.invoice).Want(t, http.StatusOK)
			if st := s.paymentStatus(t, p.PaymentID); st != "needs_review" {
				t.Fatalf("payment %s", st)
			}
			return p
		}
		p := held("topup-15k")

		admins := make([]*apitest.Client, 5)
		for i := range admins {
			admins[i] = s.adminClient(t)
		}
		var (
			wg    sync.WaitGroup
			errs  goErrs
			mu    sync.Mutex
			codes = map[int]int{}
		)
		start := make(chan struct{})
		for _, a := range admins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st := errs.status(a.Try(resolve(p.PaymentID, "credit", "support confirmed the amount")))
				mu.Lock()
				codes[st]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		errs.report(t)
		if !cmp.Equal(codes, map[int]int{http.StatusOK: 1, http.StatusConflict: 4}) {
			t.Errorf("statuses %v, want one 200 and four 409", codes)
		}
		if rows, credits := s.credited(t, p.PaymentID); rows != 1 || credits != 15000 {
			t.Errorf("%d ledger rows, %d credits", rows, credits)
		}
		if b := billingOf(t, c); b.BalanceCredits != 15000 {
			t.Errorf("balance %d", b.BalanceCredits)
		}
		var details string
		if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'payment.resolve' AND target_id = ?", fmt.Sprint(p.PaymentID)); n != 1 {
			t.Fatalf("%d audit rows", n)
		}
		if err := s.DB.SQL.QueryRow("SELECT details FROM audit_log WHERE action = 'payment.resolve' AND target_id = ?", fmt.Sprint(p.PaymentID)).Scan(&details); err != nil {
			t.Fatal(err)
		}
		var audit struct {
			Action, Reason string
			Before, After  map[string]any
		}
		if err := json.Unmarshal([]byte(details), &audit); err != nil {
			t.Fatal(err)
		}
		if audit.Action != "credit" || audit.Reason != "support confirmed the amount" || audit.Before["status"] != "needs_review" || audit.After["status"] != "paid" {
			t.Errorf("audit details %s", details)
		}
		d := s.paymentPage(t, admin, p.PaymentID)
		if got := eventTrail(d.Events); !cmp.Equal(got, []string{"webhook:needs_review:pending>needs_review", "admin:credited:needs_review>paid"}) {
			t.Errorf("events %v", got)
		} else if e := d.Events[1]; e.ActorUserID == nil || e.Detail != "support confirmed the amount" {
			t.Errorf("admin event %+v", e)
		}
		// Settled: resolving again is a conflict, and changes nothing.
		admin.Do(t, resolve(p.PaymentID, "reject", "too late")).Want(t, http.StatusConflict)

		// Reject: final, never credited, whatever MyFatoorah says later.
		r := held("topup-5k")
		var out adminPaymentDetail
		admin.Do(t, resolve(r.PaymentID, "reject", "amount never arrived")).Want(t, http.StatusOK).JSON(t, &out)
		if out.Payment.Status != "rejected" || len(out.Events) != 2 || out.Events[1].Decision != "rejected" {
			t.Errorf("rejected: %+v", out)
		}
		s.deliverSigned(t, r.invoice).Want(t, http.StatusOK)
		if st := s.paymentStatus(t, r.PaymentID); st != "rejected" {
			t.Errorf("after a webhook: %s", st)
		}
		if rows, _ := s.credited(t, r.PaymentID); rows != 0 {
			t.Errorf("a rejected payment was credited")
		}
		if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'payment.resolve' AND target_id = ?", fmt.Sprint(r.PaymentID)); n != 1 {
			t.Errorf("%d audit rows for the rejection", n)
		}
		// Per-field validation, an unknown payment, one not in review.
		paid := s.topup(t, c, "topup-5k")
		s.pay(t, paid.invoice)
		s.deliverSigned(t, paid.invoice).Want(t, http.StatusOK)
		for _, tc := range []struct {
			req    apitest.Request
			fields []string
		}{
			{resolve(paid.PaymentID, "refund", "why"), []string{"action"}},
			{resolve(paid.PaymentID, nil, "why"), []string{"action"}},
			{resolve(paid.PaymentID, "credit", "  "), []string{"reason"}},
			{resolve(paid.PaymentID, "credit", nil), []string{"reason"}},
			{resolve(paid.PaymentID, "x", strings.Repeat("r", 256)), []string{"action", "reason"}},
		} {
			e := admin.Do(t, tc.req).Want(t, http.StatusBadRequest).Error(t)
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			if !cmp.Equal(got, tc.fields) {
				t.Errorf("%v: %+v", tc.req.Body, e)
			}
		}
		admin.Do(t, resolve(999999, "credit", "why")).Want(t, http.StatusNotFound)
		admin.Do(t, get("/api/v1/admin/payments/999999")).Want(t, http.StatusNotFound)
		admin.Do(t, resolve(paid.PaymentID, "credit", "why")).Want(t, http.StatusConflict)
	})
}

// TestAdminPayments_ListFiltersAndPages filters by status, kind, account
// and creation time, pages by cursor, and names each bad filter.
func TestAdminPayments_ListFiltersAndPages(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		c1, u1 := s.SignUp(t, "lister1")
		c2, u2 := s.SignUp(t, "lister2")
		a := s.topup(t, c1, "topup-5k")
		s.pay(t, a.invoice)
		s.deliverSigned(t, a.invoice).Want(t, http.StatusOK)
		s.Clock.Advance(time.Hour)
		relogin(t, admin, c1, c2)
		mid := s.Clock.Now()
		b := s.subscribe(t, c1, "basic")
		c := s.topup(t, c2, "topup-15k")
		list := func(q url.Values) []int64 {
			t.Helper()
			var page struct {
				Data []struct {
					ID int64 `json:"id"`
				} `json:"data"`
				NextCursor *string `json:"next_cursor"`
			}
			var out []int64
			for range 10 {
				admin.Do(t, get("/api/v1/admin/payments?"+q.Encode())).Want(t, http.StatusOK).JSON(t, &page)
				for _, p := range page.Data {
					out = append(out, p.ID)
				}
				if page.NextCursor == nil {
					return out
				}
				q.Set("cursor", *page.NextCursor)
			}
			t.Fatal("too many pages")
			return nil
		}
		for _, tc := range []struct {
			q    url.Values
			want []int64
		}{
			{url.Values{"account_id": {fmt.Sprint(u1.AccountID)}}, []int64{b.PaymentID, a.PaymentID}},
			{url.Values{"account_id": {fmt.Sprint(u1.AccountID)}, "limit": {"1"}}, []int64{b.PaymentID, a.PaymentID}},
			{url.Values{"account_id": {fmt.Sprint(u2.AccountID)}}, []int64{c.PaymentID}},
			{url.Values{"status": {"paid"}, "account_id": {fmt.Sprint(u1.AccountID)}}, []int64{a.PaymentID}},
			{url.Values{"kind": {"subscription"}, "account_id": {fmt.Sprint(u1.AccountID)}}, []int64{b.PaymentID}},
			{url.Values{"status": {"pending"}, "from": {mid.Format(time.RFC3339Nano)}}, []int64{c.PaymentID, b.PaymentID}},
			{url.Values{"to": {mid.Format(time.RFC3339Nano)}, "account_id": {fmt.Sprint(u1.AccountID)}}, []int64{a.PaymentID}},
			{url.Values{"status": {"pending"}, "limit": {"1"}}, []int64{c.PaymentID, b.PaymentID}},
		} {
			if got := list(tc.q); !cmp.Equal(got, tc.want) {
				t.Errorf("%v: %v, want %v", tc.q, got, tc.want)
			}
		}
		for q, field := range map[string]string{
			"status=done": "status", "kind=gift": "kind", "account_id=0": "account_id", "from=yesterday": "from",
			"to=2025-01-01": "to", "limit=201": "limit", "cursor=abc": "cursor",
			"from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z": "to",
		} {
			res := admin.Do(t, get("/api/v1/admin/payments?"+q))
			if res.Status != http.StatusBadRequest {
				t.Errorf("%s: %d", q, res.Status)
				continue
			}
			if e := res.Error(t); e.Code != "invalid" || len(e.Fields) != 1 || e.Fields[0].Field != field {
				t.Errorf("%s: %+v", q, e)
			}
		}
	})
}
