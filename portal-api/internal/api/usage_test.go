package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

type UsageTotals struct {
	Requests         int64 `json:"requests"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	Credits          int64 `json:"credits"`
	LocalRequests    int64 `json:"local_requests"`
	CloudRequests    int64 `json:"cloud_requests"`
	LocalCredits     int64 `json:"local_credits"`
	CloudCredits     int64 `json:"cloud_credits"`
	Errors           int64 `json:"errors"`
}

type usageBucket struct {
	Start time.Time `json:"start"`
	UsageTotals
}

type usageSummary struct {
	From        time.Time     `json:"from"`
	To          time.Time     `json:"to"`
	Granularity string        `json:"granularity"`
	Buckets     []usageBucket `json:"buckets"`
	Totals      UsageTotals   `json:"totals"`
}

type usageModel struct {
	Model string `json:"model"`
	UsageTotals
}

type usageModels struct {
	From   time.Time    `json:"from"`
	To     time.Time    `json:"to"`
	Data   []usageModel `json:"data"`
	Totals UsageTotals  `json:"totals"`
}

type receipt struct {
	CreatedAt        time.Time `json:"created_at"`
	BillingID        string    `json:"billing_id"`
	ClientRequestID  *string   `json:"client_request_id"`
	APIKeyID         *int64    `json:"api_key_id"`
	KeyName          *string   `json:"key_name"`
	Model            string    `json:"model"`
	Backend          string    `json:"backend"`
	PromptTokens     int64     `json:"prompt_tokens"`
	CompletionTokens int64     `json:"completion_tokens"`
	HeldCredits      *int64    `json:"held_credits"`
	ChargedCredits   int64     `json:"charged_credits"`
	ShortfallCredits int64     `json:"shortfall_credits"`
	Status           string    `json:"status"`
	LatencyMS        int64     `json:"latency_ms"`
	TTFBMS           int64     `json:"ttfb_ms"`
}

type receiptPage struct {
	Data       []receipt `json:"data"`
	NextCursor *string   `json:"next_cursor"`
}

func usagePath(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func summary(t *testing.T, c *apitest.Client, q url.Values) usageSummary {
	t.Helper()
	var s usageSummary
	c.Do(t, get(usagePath("/api/v1/usage/summary", q))).Want(t, http.StatusOK).JSON(t, &s)
	return s
}

// allReceipts pages through every receipt matching q, limit at a time.
func allReceipts(t *testing.T, c *apitest.Client, q url.Values, limit int, between func()) []receipt {
	t.Helper()
	var out []receipt
	q = cloneValues(q)
	q.Set("limit", fmt.Sprint(limit))
	for range 1000 {
		var p receiptPage
		c.Do(t, get(usagePath("/api/v1/usage/requests", q))).Want(t, http.StatusOK).JSON(t, &p)
		if len(p.Data) > limit {
			t.Fatalf("page of %d, limit %d", len(p.Data), limit)
		}
		out = append(out, p.Data...)
		if p.NextCursor == nil {
			return out
		}
		if between != nil {
			between()
		}
		q.Set("cursor", *p.NextCursor)
	}
	t.Fatal("paging does not end")
	return nil
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

func billingIDs(rs []receipt) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.BillingID
	}
	return out
}

// kuwaitMidnight is 00:00 of 2025-03-02 in Kuwait: 21:00 UTC the day before.
var kuwaitMidnight = time.Date(2025, 3, 1, 21, 0, 0, 0, time.UTC)

func TestUsageSummary_KuwaitDaysAndUTCHours(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, u := h.SignUp(t, "usage-days")
		add := func(at time.Time, backend, status string, credits int64) {
			h.AddUsage(t, apitest.UsageRecord{AccountID: u.AccountID, CreatedAt: at, Backend: backend, Status: status,
				PromptTokens: 10, CompletionTokens: 5, Credits: credits})
		}
		add(kuwaitMidnight.Add(-time.Microsecond), "local", "ok", 1) // 23:59:59.999999 on 1 March in Kuwait
		add(kuwaitMidnight, "cloud", "ok", 4)                        // 00:00 on 2 March in Kuwait
		add(kuwaitMidnight.Add(23*time.Hour+59*time.Minute), "local", "upstream_error", 2)
		add(kuwaitMidnight.Add(24*time.Hour), "local", "ok", 8)   // 3 March
		add(kuwaitMidnight.Add(-25*time.Hour), "local", "ok", 16) // 28 February, outside

		days := summary(t, c, url.Values{"from": {"2025-03-01T00:00:00+03:00"}, "to": {"2025-03-04T00:00:00+03:00"}})
		if days.Granularity != "day" || !days.From.Equal(kuwaitMidnight.Add(-24*time.Hour)) || !days.To.Equal(kuwaitMidnight.Add(48*time.Hour)) {
			t.Fatalf("range %s – %s (%s)", days.From, days.To, days.Granularity)
		}
		want := []usageBucket{
			{Start: kuwaitMidnight.Add(-24 * time.Hour), UsageTotals: UsageTotals{Requests: 1, PromptTokens: 10, CompletionTokens: 5, Credits: 1, LocalRequests: 1, LocalCredits: 1}},
			{Start: kuwaitMidnight, UsageTotals: UsageTotals{Requests: 2, PromptTokens: 20, CompletionTokens: 10, Credits: 6, LocalRequests: 1, CloudRequests: 1, LocalCredits: 2, CloudCredits: 4, Errors: 1}},
			{Start: kuwaitMidnight.Add(24 * time.Hour), UsageTotals: UsageTotals{Requests: 1, PromptTokens: 10, CompletionTokens: 5, Credits: 8, LocalRequests: 1, LocalCredits: 8}},
		}
		if diff := cmp.Diff(want, days.Buckets); diff != "" {
			t.Errorf("day buckets (-want +got):\n%s", diff)
		}
		if days.Totals.Requests != 4 || days.Totals.Credits != 15 || days.Totals.Errors != 1 || days.Totals.CloudCredits != 4 {
			t.Errorf("totals %+v", days.Totals)
		}

		// A range inside a day is widened to the whole Kuwait day.
		inside := summary(t, c, url.Values{"from": {"2025-03-02T10:00:00+03:00"}, "to": {"2025-03-02T11:00:00+03:00"}})
		if len(inside.Buckets) != 1 || !inside.Buckets[0].Start.Equal(kuwaitMidnight) || inside.Totals.Requests != 2 {
			t.Errorf("widened day: %+v", inside)
		}

		hours := summary(t, c, url.Values{"granularity": {"hour"}, "from": {"2025-03-01T20:30:00Z"}, "to": {"2025-03-01T22:00:00Z"}})
		if len(hours.Buckets) != 2 || !hours.From.Equal(kuwaitMidnight.Add(-time.Hour)) {
			t.Fatalf("hour buckets: %+v", hours)
		}
		if hours.Buckets[0].Requests != 1 || hours.Buckets[0].Credits != 1 || hours.Buckets[1].Requests != 1 || hours.Buckets[1].CloudCredits != 4 {
			t.Errorf("hour buckets: %+v", hours.Buckets)
		}

		// Defaults: the last 30 Kuwait days, or the last 24 hours, ending now.
		h.Clock.Advance(kuwaitMidnight.Add(36 * time.Hour).Sub(h.Clock.Now()))
		c.Login(t, c.Email, apitest.DefaultPassword, false)
		def := summary(t, c, nil)
		if len(def.Buckets) != 31 || def.Totals.Requests != 5 {
			t.Errorf("default day summary: %d buckets, %d requests", len(def.Buckets), def.Totals.Requests)
		}
		defHours := summary(t, c, url.Values{"granularity": {"hour"}})
		if len(defHours.Buckets) != 24 || defHours.Totals.Requests != 2 {
			t.Errorf("default hour summary: %d buckets, %d requests", len(defHours.Buckets), defHours.Totals.Requests)
		}
	})
}

func TestUsageModels(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, u := h.SignUp(t, "usage-models")
		at := h.Clock.Now().Add(-time.Hour)
		h.AddUsage(t, apitest.UsageRecord{AccountID: u.AccountID, CreatedAt: at, Model: "llama3.2:3b", Credits: 3, PromptTokens: 7})
		h.AddUsage(t, apitest.UsageRecord{AccountID: u.AccountID, CreatedAt: at, Model: "llama3.2:3b", Credits: 2, Backend: "cloud", Status: "client_closed"})
		h.AddUsage(t, apitest.UsageRecord{AccountID: u.AccountID, CreatedAt: at.Add(-40 * 24 * time.Hour), Model: "qwen2.5:7b", Credits: 100})
		h.AddUsage(t, apitest.UsageRecord{AccountID: u.AccountID, CreatedAt: at, Model: "qwen2.5:7b", Credits: 9, CompletionTokens: 4})

		var m usageModels
		c.Do(t, get("/api/v1/usage/models")).Want(t, http.StatusOK).JSON(t, &m)
		want := []usageModel{
			{Model: "qwen2.5:7b", UsageTotals: UsageTotals{Requests: 1, CompletionTokens: 4, Credits: 9, LocalRequests: 1, LocalCredits: 9}},
			{Model: "llama3.2:3b", UsageTotals: UsageTotals{Requests: 2, PromptTokens: 7, Credits: 5, LocalRequests: 1, CloudRequests: 1, LocalCredits: 3, CloudCredits: 2, Errors: 1}},
		}
		if diff := cmp.Diff(want, m.Data); diff != "" {
			t.Errorf("models (-want +got):\n%s", diff)
		}
		if m.Totals.Requests != 3 || m.Totals.Credits != 14 {
			t.Errorf("totals %+v", m.Totals)
		}
		c.Do(t, get(usagePath("/api/v1/usage/models", url.Values{"from": {at.Add(-41 * 24 * time.Hour).Format(time.RFC3339)}}))).Want(t, http.StatusOK).JSON(t, &m)
		if m.Totals.Requests != 4 || m.Data[0].Model != "qwen2.5:7b" || m.Data[0].Credits != 109 {
			t.Errorf("41 days: %+v", m)
		}
	})
}

func TestUsageRequests_ReceiptsAndFilters(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, u := h.SignUp(t, "usage-receipts")
		k := createKey(t, c, "laptop")
		at := h.Clock.Now().Add(-time.Minute)
		h.AddUsage(t, apitest.UsageRecord{RequestID: "r-old", AccountID: u.AccountID, CreatedAt: at.Add(-time.Hour), Credits: 1})
		h.AddUsage(t, apitest.UsageRecord{RequestID: "r-key", ClientRequestID: "client-42", AccountID: u.AccountID, APIKeyID: k.ID,
			CreatedAt: at, Model: "qwen2.5:7b", Backend: "cloud", PromptTokens: 12, CompletionTokens: 34,
			HeldCredits: 90, Credits: 80, Shortfall: 0, Status: "ok", LatencyMS: 1500, TTFBMS: 200})
		h.AddUsage(t, apitest.UsageRecord{RequestID: "r-err", AccountID: u.AccountID, CreatedAt: at.Add(time.Second),
			Status: "upstream_error", HeldCredits: 10, Credits: 10, Shortfall: 3})
		c.Do(t, revokeKey(k.ID)).Want(t, http.StatusNoContent)

		var p receiptPage
		c.Do(t, get("/api/v1/usage/requests")).Want(t, http.StatusOK).JSON(t, &p)
		if got := billingIDs(p.Data); !slices.Equal(got, []string{"r-err", "r-key", "r-old"}) || p.NextCursor != nil {
			t.Fatalf("receipts %v, next %v", got, p.NextCursor)
		}
		r := p.Data[1]
		if r.KeyName == nil || *r.KeyName != "laptop" || r.APIKeyID == nil || *r.APIKeyID != k.ID || r.ClientRequestID == nil || *r.ClientRequestID != "client-42" ||
			r.HeldCredits == nil || *r.HeldCredits != 90 || r.ChargedCredits != 80 || r.Model != "qwen2.5:7b" || r.Backend != "cloud" ||
			r.PromptTokens != 12 || r.CompletionTokens != 34 || r.LatencyMS != 1500 || r.TTFBMS != 200 || !r.CreatedAt.Equal(at.Truncate(time.Microsecond)) {
			t.Errorf("receipt with a revoked key: %+v", r)
		}
		if o := p.Data[2]; o.KeyName != nil || o.APIKeyID != nil || o.ClientRequestID != nil || o.HeldCredits != nil {
			t.Errorf("receipt without key or hold: %+v", o)
		}
		if e := p.Data[0]; e.Status != "upstream_error" || e.ShortfallCredits != 3 {
			t.Errorf("failed receipt: %+v", e)
		}
		for q, want := range map[string][]string{
			"model=qwen2.5:7b":                 {"r-key"},
			"backend=local":                    {"r-err", "r-old"},
			"status=upstream_error":            {"r-err"},
			fmt.Sprintf("api_key_id=%d", k.ID): {"r-key"},
			"status=ok&backend=cloud":          {"r-key"},
			"model=nothing":                    {},
		} {
			vals, _ := url.ParseQuery(q)
			if got := billingIDs(allReceipts(t, c, vals, 2, nil)); !slices.Equal(got, want) {
				t.Errorf("%s: %v, want %v", q, got, want)
			}
		}
	})
}

// TestUsageRequests_PagingStable pages while new requests are recorded, some
// at the same instant as others: every receipt appears once, in order.
func TestUsageRequests_PagingStable(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, u := h.SignUp(t, "usage-paging")
		base := h.Clock.Now().Add(-time.Hour)
		var want []string
		for i := range 23 {
			id := fmt.Sprintf("r-%02d", i)
			h.AddUsage(t, apitest.UsageRecord{RequestID: id, AccountID: u.AccountID, CreatedAt: base.Add(time.Duration(i/3) * time.Second)})
			want = append([]string{id}, want...)
		}
		n := 0
		got := billingIDs(allReceipts(t, c, nil, 5, func() {
			n++
			h.AddUsage(t, apitest.UsageRecord{RequestID: fmt.Sprintf("new-%d", n), AccountID: u.AccountID, CreatedAt: h.Clock.Now()})
			h.Clock.Advance(time.Second)
		}))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pages while records arrive (-want +got):\n%s", diff)
		}
		all := allReceipts(t, c, nil, 100, nil)
		if len(all) != 23+n || !strings.HasPrefix(all[0].BillingID, "new-") {
			t.Errorf("after paging: %d receipts, first %s", len(all), all[0].BillingID)
		}

		// Again with the records arriving from another goroutine, as the
		// gateway writes them, while the pages are read.
		want = billingIDs(all)
		var errs goErrs
		stop, done := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := apitest.InsertUsage(context.Background(), h.DB, apitest.UsageRecord{
					RequestID: fmt.Sprintf("live-%d", i), AccountID: u.AccountID, CreatedAt: h.Clock.Now().Add(time.Duration(i+1) * time.Microsecond),
				})
				if !errs.add(err) {
					return
				}
			}
		}()
		got = billingIDs(allReceipts(t, c, nil, 7, nil))
		close(stop)
		<-done
		errs.report(t)
		// Records written before the first page was read lead it, newest
		// first; after them come exactly the older ones, each once.
		live := 0
		for live < len(got) && strings.HasPrefix(got[live], "live-") {
			live++
		}
		for i := range live {
			if got[i] != fmt.Sprintf("live-%d", live-1-i) {
				t.Errorf("the newest receipts: %v", got[:live])
				break
			}
		}
		if diff := cmp.Diff(want, got[live:]); diff != "" {
			t.Errorf("pages while another goroutine records (-want +got):\n%s", diff)
		}
	})
}

// TestUsage_Scoping: another account's usage is never visible, and an
// account_id other than the caller's is 403 on every route that takes one.
func TestUsage_Scoping(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		alice, a := h.SignUp(t, "usage-alice")
		bob, b := h.SignUp(t, "usage-bob")
		bobKey := createKey(t, bob, "bob's key")
		at := h.Clock.Now().Add(-time.Hour)
		h.AddUsage(t, apitest.UsageRecord{RequestID: "bob-1", AccountID: b.AccountID, APIKeyID: bobKey.ID, CreatedAt: at, Credits: 5})
		// A record of Alice's naming Bob's key (which cannot happen) still
		// does not show Bob's key name.
		h.AddUsage(t, apitest.UsageRecord{RequestID: "alice-1", AccountID: a.AccountID, APIKeyID: bobKey.ID, CreatedAt: at, Credits: 1})

		if s := summary(t, alice, nil); s.Totals.Requests != 1 || s.Totals.Credits != 1 {
			t.Errorf("alice's summary: %+v", s.Totals)
		}
		var m usageModels
		alice.Do(t, get("/api/v1/usage/models")).Want(t, http.StatusOK).JSON(t, &m)
		if m.Totals.Credits != 1 {
			t.Errorf("alice's models: %+v", m)
		}
		rs := allReceipts(t, alice, nil, 10, nil)
		if len(rs) != 1 || rs[0].BillingID != "alice-1" || rs[0].KeyName != nil {
			t.Errorf("alice's receipts: %+v", rs)
		}
		res := alice.Do(t, get("/api/v1/usage/requests.csv")).Want(t, http.StatusOK)
		if bytes.Contains(res.Body, []byte("bob")) {
			t.Errorf("alice's export shows bob's: %s", res.Body)
		}

		// Bob's key is not Alice's to revoke: 404, as a missing one.
		alice.Do(t, revokeKey(bobKey.ID)).Want(t, http.StatusNotFound)

		other := fmt.Sprint(b.AccountID)
		for _, op := range scopedOperations(t) {
			method, path, _ := strings.Cut(op, " ")
			path = strings.NewReplacer("{id}", "1").Replace(path)
			var body any
			if method == http.MethodPost {
				body = map[string]any{"name": "x", "kind": "topup", "pack_id": 1}
			}
			r := apitest.Request{Method: method, Path: path + "?account_id=" + other, Body: body}
			if e := alice.Do(t, r).Want(t, http.StatusForbidden).Error(t); e.Code != "forbidden" {
				t.Errorf("%s for bob's account: %+v", op, e)
			}
			r.Path = path + "?account_id=" + fmt.Sprint(a.AccountID)
			// Only the scope is checked here (the routes' own tests cover
			// their answers, some of which need the seeded catalog).
			if res, _ := alice.Try(r); res == nil || res.Status == http.StatusForbidden {
				t.Errorf("%s for alice's own account_id: %v", op, res)
			}
		}
		if e := alice.Do(t, get("/api/v1/usage/summary?account_id=abc")).Want(t, http.StatusBadRequest).Error(t); len(e.Fields) != 1 || e.Fields[0].Field != "account_id" {
			t.Errorf("account_id=abc: %+v", e)
		}
	})
}

// scopedOperations lists the operations of openapi.yaml that take
// account_id: they must be exactly the API-key, billing and usage routes
// behind a token.
func scopedOperations(t *testing.T) []string {
	t.Helper()
	var out []string
	for path, item := range apitest.LoadSpec(t).Doc.Paths.Map() {
		if strings.HasPrefix(path, "/api/v1/admin/") {
			// An admin's account_id filters any account; the admin
			// routes' own guard test holds who may call them.
			continue
		}
		for method, op := range item.Operations() {
			scoped := false
			for _, p := range op.Parameters {
				if p.Value != nil && p.Value.Name == "account_id" {
					scoped = true
				}
			}
			wantScoped := op.Security != nil && len(*op.Security) > 0 &&
				(strings.HasPrefix(path, "/api/v1/api-keys") || strings.HasPrefix(path, "/api/v1/billing") || strings.HasPrefix(path, "/api/v1/usage"))
			if scoped != wantScoped {
				t.Errorf("%s %s: takes account_id %v, want %v", method, path, scoped, wantScoped)
			}
			if scoped {
				out = append(out, method+" "+path)
			}
		}
	}
	slices.Sort(out)
	if len(out) != 11 {
		t.Errorf("scoped operations: %v", out)
	}
	return out
}

func TestUsage_Validation(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, _ := h.SignUp(t, "usage-invalid")
		for _, tc := range []struct {
			path   string
			fields []string
		}{
			{"/api/v1/usage/summary?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", []string{"to"}},
			{"/api/v1/usage/summary?from=2025-03-01T00:00:00Z&to=2025-03-01T00:00:00Z", []string{"to"}},
			{"/api/v1/usage/summary?from=yesterday&to=2025-03-01", []string{"from", "to"}},
			{"/api/v1/usage/summary?granularity=hour&from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:01Z", []string{"from"}},
			{"/api/v1/usage/summary?from=2024-01-01T00:00:00Z&to=2025-01-02T00:00:00Z", []string{"from"}},
			{"/api/v1/usage/summary?granularity=week", []string{"granularity"}},
			{"/api/v1/usage/models?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", []string{"to"}},
			{"/api/v1/usage/requests?limit=0", []string{"limit"}},
			{"/api/v1/usage/requests?limit=101", []string{"limit"}},
			{"/api/v1/usage/requests?cursor=bm90LWEtY3Vyc29y", []string{"cursor"}},
			{"/api/v1/usage/requests?backend=gpu&api_key_id=-1", []string{"api_key_id", "backend"}},
			{"/api/v1/usage/requests.csv?from=2024-01-01T00:00:00Z&to=2025-01-02T00:00:00Z", []string{"from"}},
			{"/api/v1/usage/requests.csv?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z&backend=gpu", []string{"backend", "to"}},
		} {
			res := c.Do(t, get(tc.path)).Want(t, http.StatusBadRequest)
			e := res.Error(t)
			var got []string
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
			slices.Sort(got)
			if e.Code != "invalid" || !slices.Equal(got, tc.fields) {
				t.Errorf("%s: %+v, want fields %v", tc.path, e, tc.fields)
			}
		}
		// At the limits: 31 days of hours, 366 days of days.
		c.Do(t, get("/api/v1/usage/summary?granularity=hour&from=2025-01-01T00:00:00Z&to=2025-02-01T00:00:00Z")).Want(t, http.StatusOK)
		c.Do(t, get("/api/v1/usage/summary?from=2024-01-01T00:00:00%2B03:00&to=2025-01-01T00:00:00%2B03:00")).Want(t, http.StatusOK)
	})
}

func TestUsageExport_CSV(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, u := h.SignUp(t, "usage-csv")
		k := createKey(t, c, `=HYPERLINK("http://evil.example","x")`)
		at := h.Clock.Now().Add(-time.Hour)
		clientIDs := []string{"+SUM(1,2)", "-2+3", "@cmd", "\tx", "\rx", `a,"b"` + "\nc", "plain", ""}
		for i, id := range clientIDs {
			h.AddUsage(t, apitest.UsageRecord{RequestID: fmt.Sprintf("r-%d", i), ClientRequestID: id, AccountID: u.AccountID, APIKeyID: k.ID,
				CreatedAt: at.Add(time.Duration(i) * time.Second), Credits: int64(i), HeldCredits: int64(i)})
		}
		h.AddUsage(t, apitest.UsageRecord{RequestID: "r-old", AccountID: u.AccountID, CreatedAt: at.Add(-48 * time.Hour)})

		res := c.Do(t, get(usagePath("/api/v1/usage/requests.csv", url.Values{"from": {at.Add(-time.Hour).Format(time.RFC3339)}}))).Want(t, http.StatusOK)
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") || !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
			t.Errorf("headers: %v", res.Header)
		}
		if !bytes.HasPrefix(res.Body, []byte("time,billing_id,")) || !bytes.HasSuffix(res.Body, []byte("\n")) {
			t.Errorf("body %q", res.Body)
		}
		rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatalf("read CSV: %v\n%s", err, res.Body)
		}
		if len(rows) != 1+len(clientIDs) || rows[0][0] != "time" || rows[0][2] != "client_request_id" || rows[0][4] != "key_name" {
			t.Fatalf("rows: %q", rows)
		}
		wantClient := []string{"'+SUM(1,2)", "'-2+3", "'@cmd", "'\tx", "'\rx", "a,\"b\"\nc", "plain", ""}
		if !bytes.Contains(res.Body, []byte("\"'\rx\"")) {
			t.Errorf("the cell starting with a carriage return: %q", res.Body)
		}
		for i, row := range rows[1:] {
			n := len(clientIDs) - 1 - i // newest first
			if row[1] != fmt.Sprintf("r-%d", n) || row[2] != wantClient[n] || row[4] != `'=HYPERLINK("http://evil.example","x")` || row[3] != fmt.Sprint(k.ID) {
				t.Errorf("row %d: %q", i, row)
			}
			if n == 0 && row[9] != "" || n > 0 && row[9] != fmt.Sprint(n) {
				t.Errorf("row %d held_credits %q", i, row[9])
			}
		}
		for _, cell := range rows[1:] {
			for _, v := range cell {
				if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) && !strings.HasPrefix(v, "2") {
					t.Errorf("formula cell %q", v)
				}
			}
		}

		// Filters apply; an empty range is a header alone.
		res = c.Do(t, get(usagePath("/api/v1/usage/requests.csv", url.Values{"status": {"nothing"}}))).Want(t, http.StatusOK)
		if lines := strings.Count(string(res.Body), "\n"); lines != 1 {
			t.Errorf("empty export: %q", res.Body)
		}
	})
}

// TestUsageExport_ManyBatches exports more receipts than one query reads.
func TestUsageExport_ManyBatches(t *testing.T) {
	eachBackend(t, func(t *testing.T, h *apitest.Harness) {
		c, u := h.SignUp(t, "usage-csv-many")
		at := h.Clock.Now().Add(-time.Hour)
		const n = 2345
		for i := range n {
			if _, err := apitest.InsertUsage(t.Context(), h.DB, apitest.UsageRecord{
				RequestID: fmt.Sprintf("r-%05d", i), AccountID: u.AccountID, CreatedAt: at.Add(time.Duration(i/7) * time.Millisecond),
			}); err != nil {
				t.Fatal(err)
			}
		}
		res := c.Do(t, get("/api/v1/usage/requests.csv")).Want(t, http.StatusOK)
		rows, err := csv.NewReader(bytes.NewReader(res.Body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != n+1 {
			t.Fatalf("%d rows, want %d", len(rows)-1, n)
		}
		seen := map[string]bool{}
		for _, r := range rows[1:] {
			if seen[r[1]] {
				t.Fatalf("%s twice", r[1])
			}
			seen[r[1]] = true
		}
		if rows[1][1] != fmt.Sprintf("r-%05d", n-1) || rows[n][1] != "r-00000" {
			t.Errorf("first %s, last %s", rows[1][1], rows[n][1])
		}
	})
}
