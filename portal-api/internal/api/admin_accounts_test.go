package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

type adminAccount struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind"`
	User *struct {
		ID    int64  `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
		Phone string `json:"phone"`
	} `json:"user"`
	Plan           string `json:"plan"`
	BalanceCredits int64  `json:"balance_credits"`
	Disabled       bool   `json:"disabled"`
}

type adminAccountPage struct {
	Data       []adminAccount `json:"data"`
	NextCursor *string        `json:"next_cursor"`
}

// registerAs creates a user with its own name and phone; it returns the
// user's account id.
func registerAs(t *testing.T, s *shop, email, name, phone string) int64 {
	t.Helper()
	var out apitest.UserResponse
	s.NewClient().Do(t, post("/api/v1/auth/register", map[string]any{
		"name": name, "email": email, "phone": phone, "password": apitest.DefaultPassword,
	})).Want(t, http.StatusCreated).JSON(t, &out)
	return out.User.AccountID
}

func listAccounts(t *testing.T, c *apitest.Client, path string, q url.Values) adminAccountPage {
	t.Helper()
	var p adminAccountPage
	c.Do(t, get(path+"?"+q.Encode())).Want(t, http.StatusOK).JSON(t, &p)
	return p
}

func ids(p adminAccountPage) []int64 {
	out := []int64{}
	for _, a := range p.Data {
		out = append(out, a.ID)
	}
	return out
}

// TestAdminAccounts_SearchFilterSortPage: search by e-mail prefix, by a
// phone's last digits and by a name's word prefix; the filters; sorting by
// balance; and cursor pages that together list every row once.
func TestAdminAccounts_SearchFilterSortPage(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		tag := "t" + apitest.UniqueEmail("x")[2:10] // an e-mail prefix no other test has
		a := registerAs(t, s, tag+".amira@example.com", "Amira Haddad", "+96550001111")
		b := registerAs(t, s, tag+".bader@example.com", "Bader Al Sabah", "+96550002222")
		c := registerAs(t, s, tag+".carla@example.com", "Carla Sabri", "+96560003333")
		userOf := map[int64]int64{}
		for _, acc := range listAccounts(t, admin, "/api/v1/admin/users", url.Values{"q": {tag}}).Data {
			userOf[acc.ID] = acc.User.ID
		}
		admin.Do(t, adjust(userOf[b], 500, "goodwill")).Want(t, http.StatusCreated)
		admin.Do(t, adjust(userOf[c], 900, "goodwill")).Want(t, http.StatusCreated)

		for _, tc := range []struct {
			q    url.Values
			want []int64
		}{
			{url.Values{"q": {strings.ToUpper(tag) + ".AMIRA@"}}, []int64{a}},
			{url.Values{"q": {tag + ".bader@example.com"}}, []int64{b}},
			{url.Values{"q": {"2222"}}, []int64{b}},
			{url.Values{"q": {"+965 6000 3333"}}, []int64{c}},
			{url.Values{"q": {"0003"}}, []int64{}},                            // last digits, not any digits
			{url.Values{"q": {"sab"}, "sort": {"created_at"}}, []int64{b, c}}, // "Sabah" and "Sabri", later words
			{url.Values{"q": {"haddad"}}, []int64{a}},
			{url.Values{"q": {"addad"}}, []int64{}}, // a word's prefix, not its middle
			{url.Values{"q": {"sab"}, "has_balance": {"true"}, "sort": {"balance"}}, []int64{b, c}},
			{url.Values{"q": {"sab"}, "sort": {"-balance"}}, []int64{c, b}},
			{url.Values{"q": {tag}, "has_balance": {"false"}}, []int64{a}},
			{url.Values{"q": {tag}, "plan": {"pro"}}, []int64{}},
			{url.Values{"q": {tag}, "plan": {"none"}, "kind": {"user"}, "disabled": {"false"}}, []int64{c, b, a}},
			{url.Values{"q": {tag}, "kind": {"team"}}, []int64{}},
		} {
			got := ids(listAccounts(t, admin, "/api/v1/admin/accounts", tc.q))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("%v: %v, want %v", tc.q, got, tc.want)
			}
		}
		// Pages of one, in each sort, list every row once and in order.
		for sort, want := range map[string][]int64{
			"-created_at": {c, b, a}, "created_at": {a, b, c}, "-balance": {c, b, a}, "balance": {a, b, c},
		} {
			var got []int64
			q := url.Values{"q": {tag}, "sort": {sort}, "limit": {"1"}}
			for range 5 {
				p := listAccounts(t, admin, "/api/v1/admin/accounts", q)
				got = append(got, ids(p)...)
				if p.NextCursor == nil {
					break
				}
				q.Set("cursor", *p.NextCursor)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("sort %s by pages: %v, want %v", sort, got, want)
			}
		}
		// Each field's problem is named.
		for q, field := range map[string]string{
			"q=12": "q", "kind=robot": "kind", "plan=gold": "plan", "disabled=yes": "disabled",
			"has_balance=1": "has_balance", "sort=name": "sort", "limit=0": "limit", "limit=201": "limit", "cursor=zz": "cursor",
		} {
			res := admin.Do(t, get("/api/v1/admin/accounts?"+q))
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

// TestAdminAccount_PageAndLedger: an account's page shows its plan, live
// balance, usage, keys (never a secret) and payments; its ledger pages
// newest first.
func TestAdminAccount_PageAndLedger(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		c, u := s.SignUp(t, "paged")
		c.Do(t, post("/api/v1/api-keys", map[string]any{"name": "laptop"})).Want(t, http.StatusCreated)
		for i := range 3 {
			admin.Do(t, adjust(u.ID, int64(100*(i+1)), fmt.Sprintf("grant %d", i))).Want(t, http.StatusCreated)
		}
		var page struct {
			Account adminAccount `json:"account"`
			Billing struct {
				BalanceCredits int64 `json:"balance_credits"`
			} `json:"billing"`
			Usage struct {
				Buckets []any `json:"buckets"`
			} `json:"usage"`
			Keys     []map[string]any `json:"keys"`
			Payments struct {
				Data []any `json:"data"`
			} `json:"payments"`
		}
		admin.Do(t, get(fmt.Sprintf("/api/v1/admin/accounts/%d", u.AccountID))).Want(t, http.StatusOK).JSON(t, &page)
		if page.Account.ID != u.AccountID || page.Account.User == nil || page.Account.User.ID != u.ID ||
			page.Account.BalanceCredits != 600 || page.Billing.BalanceCredits != 600 || page.Account.Plan != "none" {
			t.Errorf("page: %+v", page)
		}
		if len(page.Keys) != 1 || page.Keys[0]["name"] != "laptop" || page.Keys[0]["key"] != nil {
			t.Errorf("keys: %+v", page.Keys)
		}
		if len(page.Usage.Buckets) == 0 {
			t.Errorf("usage has no buckets: %+v", page.Usage)
		}
		var reasons []string
		path := fmt.Sprintf("/api/v1/admin/accounts/%d/ledger?limit=2", u.AccountID)
		for next := ""; ; {
			var lp struct {
				Data []struct {
					Reason        string `json:"reason"`
					AmountCredits int64  `json:"amount_credits"`
				} `json:"data"`
				NextCursor *string `json:"next_cursor"`
			}
			admin.Do(t, get(path+next)).Want(t, http.StatusOK).JSON(t, &lp)
			for _, e := range lp.Data {
				reasons = append(reasons, e.Reason)
			}
			if lp.NextCursor == nil {
				break
			}
			next = "&cursor=" + *lp.NextCursor
		}
		if fmt.Sprint(reasons) != "[grant 2 grant 1 grant 0]" {
			t.Errorf("ledger: %v", reasons)
		}
		admin.Do(t, get("/api/v1/admin/accounts/999999")).Want(t, http.StatusNotFound)
		admin.Do(t, get("/api/v1/admin/accounts/999999/ledger")).Want(t, http.StatusNotFound)
		if e := admin.Do(t, get(fmt.Sprintf("/api/v1/admin/accounts/%d/ledger?limit=0", u.AccountID))).Want(t, http.StatusBadRequest).Error(t); len(e.Fields) != 1 || e.Fields[0].Field != "limit" {
			t.Errorf("%+v", e)
		}
	})
}
