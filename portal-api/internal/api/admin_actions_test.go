package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/apitest"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// accountAction is a POST to one of an account's action routes.
func accountAction(account int64, action string, body any) apitest.Request {
	return post(fmt.Sprintf("/api/v1/admin/accounts/%d/%s", account, action), body)
}

type auditEntry struct {
	ID          int64          `json:"id"`
	ActorUserID *int64         `json:"actor_user_id"`
	Actor       string         `json:"actor"`
	Action      string         `json:"action"`
	TargetType  string         `json:"target_type"`
	TargetID    string         `json:"target_id"`
	Details     map[string]any `json:"details"`
	IP          string         `json:"ip"`
	CreatedAt   time.Time      `json:"created_at"`
}

type auditPage struct {
	Data       []auditEntry `json:"data"`
	NextCursor *string      `json:"next_cursor"`
}

func auditLog(t *testing.T, c *apitest.Client, q url.Values) auditPage {
	t.Helper()
	var p auditPage
	c.Do(t, get("/api/v1/admin/audit-log?"+q.Encode())).Want(t, http.StatusOK).JSON(t, &p)
	return p
}

// lastAudit is the newest audit entry of the action on the account, read
// through the API.
func lastAudit(t *testing.T, c *apitest.Client, account int64, action string) auditEntry {
	t.Helper()
	p := auditLog(t, c, url.Values{"target_type": {"account"}, "target_id": {fmt.Sprint(account)}, "action": {action}, "limit": {"1"}})
	if len(p.Data) != 1 {
		t.Fatalf("no %s audit entry for account %d", action, account)
	}
	return p.Data[0]
}

// wantDetails compares an audit entry's before, after and reason with
// want, a JSON object.
func wantDetails(t *testing.T, e auditEntry, want string) {
	t.Helper()
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for k := range w {
		got[k] = e.Details[k]
	}
	if diff := cmp.Diff(w, got); diff != "" {
		t.Errorf("%s details (-want +got):\n%s\nall: %v", e.Action, diff, e.Details)
	}
}

// wantFields checks a 400 names exactly these fields.
func wantFields(t *testing.T, res *apitest.Response, what string, fields ...string) {
	t.Helper()
	if res.Status != http.StatusBadRequest {
		t.Errorf("%s: %d, want 400; body %s", what, res.Status, res.Body)
		return
	}
	e := res.Error(t)
	var got []string
	for _, f := range e.Fields {
		got = append(got, f.Field)
	}
	if e.Code != "invalid" || fmt.Sprint(got) != fmt.Sprint(fields) {
		t.Errorf("%s: %+v, want fields %v", what, e, fields)
	}
}

// team creates a team account (which has no user of its own) owned by
// the user; it returns the account's id.
func (s *shop) team(t *testing.T, owner int64, name string) int64 {
	t.Helper()
	now := s.Clock.Now()
	res, err := s.DB.SQL.Exec(`INSERT INTO accounts (kind, status, created_at, updated_at) VALUES ('team', 'active', ?, ?)`, now, now)
	if err != nil {
		t.Fatal(err)
	}
	acct, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.SQL.Exec(`INSERT INTO teams (account_id, name, owner_user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
		acct, name, owner, now, now); err != nil {
		t.Fatal(err)
	}
	return acct
}

type creditsResult struct {
	Reference        string `json:"reference"`
	AccountID        int64  `json:"account_id"`
	UserID           *int64 `json:"user_id"`
	Amount           int64  `json:"amount"`
	BalanceCredits   int64  `json:"balance_credits"`
	AvailableCredits int64  `json:"available_credits"`
	Live             bool   `json:"live"`
}

// TestAdminAccountCredits: per-field validation; grants and debits by
// account id, a team's too; a debit past zero refused with the credits
// available and nothing written; each audit row's {before, after,
// reason}; the users route is the same action.
func TestAdminAccountCredits(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		t.Run("validation400", func(t *testing.T) {
			t.Parallel()
			_, u := s.SignUp(t, "credval")
			for _, tc := range []struct {
				body   map[string]any
				fields []string
			}{
				{map[string]any{"reason": "why not"}, []string{"amount"}},
				{map[string]any{"amount": 0, "reason": "why not"}, []string{"amount"}},
				{map[string]any{"amount": 1.5, "reason": "why not"}, []string{"amount"}},
				{map[string]any{"amount": 100_000_001, "reason": "why not"}, []string{"amount"}},
				{map[string]any{"amount": 10}, []string{"reason"}},
				{map[string]any{"amount": 10, "reason": "    "}, []string{"reason"}},
				{map[string]any{"amount": 10, "reason": "ab"}, []string{"reason"}},
				{map[string]any{"amount": 10, "reason": strings.Repeat("é", 501)}, []string{"reason"}},
				{map[string]any{"amount": 0, "reason": "x"}, []string{"amount", "reason"}},
			} {
				wantFields(t, admin.Do(t, accountAction(u.AccountID, "credits", tc.body)), fmt.Sprint(tc.body), tc.fields...)
			}
			admin.Do(t, accountAction(999999, "credits", map[string]any{"amount": 10, "reason": "nobody"})).Want(t, http.StatusNotFound)
			if n := s.count(t, "SELECT COUNT(*) FROM credit_ledger WHERE account_id = ?", u.AccountID); n != 0 {
				t.Errorf("%d ledger rows after refused adjustments", n)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'account' AND target_id = ?", fmt.Sprint(u.AccountID)); n != 0 {
				t.Errorf("%d audit rows after refused adjustments", n)
			}
		})
		t.Run("grantDebitNeverBelowZero", func(t *testing.T) {
			t.Parallel()
			c, u := s.SignUp(t, "credits")
			var got creditsResult
			admin.Do(t, accountAction(u.AccountID, "credits", map[string]any{"amount": 1000, "reason": "  goodwill  "})).
				Want(t, http.StatusCreated).JSON(t, &got)
			if !strings.HasPrefix(got.Reference, "admin:") || got.AccountID != u.AccountID || got.UserID == nil || *got.UserID != u.ID ||
				got.Amount != 1000 || got.BalanceCredits != 1000 || got.AvailableCredits != 1000 || !got.Live {
				t.Errorf("grant: %+v", got)
			}
			e := lastAudit(t, admin, u.AccountID, "credits.adjust")
			wantDetails(t, e, `{"before": {"balance_credits": 0}, "after": {"balance_credits": 1000}, "reason": "goodwill"}`)
			if e.ActorUserID == nil || e.Details["reference"] != got.Reference || e.IP != admin.IP {
				t.Errorf("grant audit entry: %+v", e)
			}

			admin.Do(t, accountAction(u.AccountID, "credits", map[string]any{"amount": -300, "reason": "duplicate top-up"})).
				Want(t, http.StatusCreated).JSON(t, &got)
			if got.Amount != -300 || got.BalanceCredits != 700 {
				t.Errorf("debit: %+v", got)
			}
			wantDetails(t, lastAudit(t, admin, u.AccountID, "credits.adjust"),
				`{"before": {"balance_credits": 1000}, "after": {"balance_credits": 700}, "reason": "duplicate top-up"}`)

			ledgerRows := s.count(t, "SELECT COUNT(*) FROM credit_ledger WHERE account_id = ?", u.AccountID)
			auditRows := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE target_id = ?", fmt.Sprint(u.AccountID))
			res := admin.Do(t, accountAction(u.AccountID, "credits", map[string]any{"amount": -701, "reason": "too much"})).Want(t, http.StatusConflict)
			var body struct {
				Error struct {
					Code    string         `json:"code"`
					Message string         `json:"message"`
					Details map[string]any `json:"details"`
				} `json:"error"`
			}
			res.JSON(t, &body)
			if body.Error.Code != "conflict" || !strings.Contains(body.Error.Message, "700 credits available") ||
				body.Error.Details["available_credits"] != float64(700) || body.Error.Details["requested_credits"] != float64(701) {
				t.Errorf("debit past zero: %s", res.Body)
			}
			if b := billingOf(t, c); b.BalanceCredits != 700 {
				t.Errorf("balance %d after a refused debit, want 700", b.BalanceCredits)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM credit_ledger WHERE account_id = ?", u.AccountID); n != ledgerRows {
				t.Errorf("a refused debit wrote a ledger row (%d, was %d)", n, ledgerRows)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE target_id = ?", fmt.Sprint(u.AccountID)); n != auditRows {
				t.Errorf("a refused debit wrote an audit row (%d, was %d)", n, auditRows)
			}

			// The users route is the same action: same rules, same audit.
			var old adjusted
			admin.Do(t, adjust(u.ID, -700, "closing the account")).Want(t, http.StatusCreated).JSON(t, &old)
			if old.AccountID != u.AccountID || old.BalanceCredits != 0 {
				t.Errorf("users route: %+v", old)
			}
			wantDetails(t, lastAudit(t, admin, u.AccountID, "credits.adjust"),
				`{"before": {"balance_credits": 700}, "after": {"balance_credits": 0}, "reason": "closing the account"}`)
			wantFields(t, admin.Do(t, adjust(u.ID, 5, "ab")), "users route, short reason", "reason")
			wantFields(t, admin.Do(t, adjust(u.ID, 0, "a good reason")), "users route, zero", "delta")
			res = admin.Do(t, adjust(u.ID, -1, "nothing left")).Want(t, http.StatusConflict)
			res.JSON(t, &body)
			if body.Error.Details["available_credits"] != float64(0) {
				t.Errorf("users route past zero: %s", res.Body)
			}
			s.verify(t)
		})
		t.Run("teamAccount", func(t *testing.T) {
			t.Parallel()
			_, owner := s.SignUp(t, "teamowner")
			team := s.team(t, owner.ID, "Acme")
			var got creditsResult
			admin.Do(t, accountAction(team, "credits", map[string]any{"amount": 250, "reason": "team onboarding"})).
				Want(t, http.StatusCreated).JSON(t, &got)
			if got.AccountID != team || got.UserID != nil || got.BalanceCredits != 250 {
				t.Errorf("team grant: %+v", got)
			}
			wantDetails(t, lastAudit(t, admin, team, "credits.adjust"),
				`{"before": {"balance_credits": 0}, "after": {"balance_credits": 250}, "reason": "team onboarding"}`)
		})
		t.Run("longReason", func(t *testing.T) {
			t.Parallel()
			_, u := s.SignUp(t, "longreason")
			reason := strings.Repeat("ش", 500) // 500 characters, 1000 bytes
			var got creditsResult
			admin.Do(t, accountAction(u.AccountID, "credits", map[string]any{"amount": 7, "reason": reason})).
				Want(t, http.StatusCreated).JSON(t, &got)
			if e := lastAudit(t, admin, u.AccountID, "credits.adjust"); e.Details["reason"] != reason {
				t.Errorf("the audit log does not keep the whole reason: %v", e.Details["reason"])
			}
			var kept string
			if err := s.DB.SQL.QueryRow("SELECT reason FROM credit_ledger WHERE reference = ?", got.Reference).Scan(&kept); err != nil {
				t.Fatal(err)
			}
			if len(kept) > 255 || !strings.HasSuffix(kept, "…") || !strings.HasPrefix(reason, strings.TrimSuffix(kept, "…")) {
				t.Errorf("ledger reason: %d bytes, %q", len(kept), kept)
			}
		})
	})
}

type planResult struct {
	AccountID    int64  `json:"account_id"`
	Plan         string `json:"plan"`
	Subscription *struct {
		ID        int64     `json:"id"`
		Plan      string    `json:"plan"`
		StartsAt  time.Time `json:"starts_at"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"subscription"`
	EndedSubscriptions []int64 `json:"ended_subscriptions"`
	Grant              *struct {
		Reference     string `json:"reference"`
		AmountCredits int64  `json:"amount_credits"`
		Live          bool   `json:"live"`
	} `json:"grant"`
	Notified bool `json:"notified"`
}

// TestAdminAccountPlan: per-field validation; a plan with its credits,
// for the plan's own duration; another plan for given days without
// credits; no plan; each audit row's {before, after, reason}.
func TestAdminAccountPlan(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		t.Run("validation400", func(t *testing.T) {
			t.Parallel()
			_, u := s.SignUp(t, "planval")
			for _, tc := range []struct {
				body   map[string]any
				fields []string
			}{
				{map[string]any{"reason": "pilot customer"}, []string{"plan"}},
				{map[string]any{"plan": "gold", "reason": "pilot customer"}, []string{"plan"}},
				{map[string]any{"plan": "pro", "days": 0, "reason": "pilot customer"}, []string{"days"}},
				{map[string]any{"plan": "pro", "days": ledger.MaxDays + 1, "reason": "pilot customer"}, []string{"days"}},
				{map[string]any{"plan": "pro"}, []string{"reason"}},
				{map[string]any{"plan": "pro", "reason": "no"}, []string{"reason"}},
				{map[string]any{"plan": "gold", "days": 0, "reason": ""}, []string{"plan", "days", "reason"}},
				{map[string]any{"plan": "none", "days": 3, "reason": "pilot customer"}, []string{"days"}},
				{map[string]any{"plan": "none", "with_credits": true, "reason": "pilot customer"}, []string{"with_credits"}},
				{map[string]any{"plan": "pro", "with_credits": "yes", "reason": "pilot customer"}, []string{"with_credits"}},
			} {
				wantFields(t, admin.Do(t, accountAction(u.AccountID, "plan", tc.body)), fmt.Sprint(tc.body), tc.fields...)
			}
			admin.Do(t, accountAction(999999, "plan", map[string]any{"plan": "pro", "reason": "nobody"})).Want(t, http.StatusNotFound)
			if n := s.count(t, "SELECT COUNT(*) FROM subscriptions WHERE account_id = ?", u.AccountID); n != 0 {
				t.Errorf("%d subscriptions after refused changes", n)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE target_type = 'account' AND target_id = ?", fmt.Sprint(u.AccountID)); n != 0 {
				t.Errorf("%d audit rows after refused changes", n)
			}
		})
		t.Run("setChangeEnd", func(t *testing.T) {
			t.Parallel()
			c, u := s.SignUp(t, "plans")
			now := s.Clock.Now()
			var pro planResult
			admin.Do(t, accountAction(u.AccountID, "plan", map[string]any{"plan": "pro", "with_credits": true, "reason": "pilot customer"})).
				Want(t, http.StatusOK).JSON(t, &pro)
			sub := pro.Subscription
			if pro.AccountID != u.AccountID || pro.Plan != "pro" || sub == nil || sub.Plan != "pro" || len(pro.EndedSubscriptions) != 0 ||
				pro.Grant == nil || pro.Grant.AmountCredits != 20000 || pro.Grant.Reference != fmt.Sprintf("subscription:%d", sub.ID) ||
				!pro.Grant.Live || !pro.Notified {
				t.Fatalf("pro: %+v", pro)
			}
			// The plan's own duration: 30 days for the seeded Pro.
			if d := sub.ExpiresAt.Sub(now); d < 30*24*time.Hour-time.Second || d > 30*24*time.Hour+time.Minute {
				t.Errorf("pro runs %s", d)
			}
			proExpires := sub.ExpiresAt.UTC().Format(time.RFC3339)
			wantDetails(t, lastAudit(t, admin, u.AccountID, "plan.set"), fmt.Sprintf(`{
				"before": {"plan": "none", "subscription_id": null, "expires_at": null, "balance_credits": 0},
				"after": {"plan": "pro", "subscription_id": %d, "expires_at": %q, "balance_credits": 20000},
				"reason": "pilot customer"}`, sub.ID, proExpires))
			if b := billingOf(t, c); b.BalanceCredits != 20000 {
				t.Errorf("balance %d after pro with credits", b.BalanceCredits)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM account_events WHERE kind = 'plan_changed' AND account_id = ?", u.AccountID); n != 1 {
				t.Errorf("%d plan_changed events", n)
			}

			var basic planResult
			admin.Do(t, accountAction(u.AccountID, "plan", map[string]any{"plan": "basic", "days": 7, "reason": "downgrade on request"})).
				Want(t, http.StatusOK).JSON(t, &basic)
			if basic.Plan != "basic" || basic.Grant != nil || fmt.Sprint(basic.EndedSubscriptions) != fmt.Sprint([]int64{sub.ID}) ||
				basic.Subscription == nil || basic.Subscription.ExpiresAt.Sub(now) > 7*24*time.Hour+time.Minute {
				t.Fatalf("basic: %+v", basic)
			}
			wantDetails(t, lastAudit(t, admin, u.AccountID, "plan.set"), fmt.Sprintf(`{
				"before": {"plan": "pro", "subscription_id": %d, "expires_at": %q, "balance_credits": 20000},
				"after": {"plan": "basic", "subscription_id": %d, "expires_at": %q, "balance_credits": 20000},
				"reason": "downgrade on request"}`, sub.ID, proExpires, basic.Subscription.ID, basic.Subscription.ExpiresAt.UTC().Format(time.RFC3339)))

			var none planResult
			admin.Do(t, accountAction(u.AccountID, "plan", map[string]any{"plan": "none", "reason": "trial over"})).
				Want(t, http.StatusOK).JSON(t, &none)
			if none.Plan != "none" || none.Subscription != nil || none.Grant != nil || fmt.Sprint(none.EndedSubscriptions) != fmt.Sprint([]int64{basic.Subscription.ID}) {
				t.Fatalf("none: %+v", none)
			}
			wantDetails(t, lastAudit(t, admin, u.AccountID, "plan.set"), fmt.Sprintf(`{
				"before": {"plan": "basic", "subscription_id": %d, "expires_at": %q, "balance_credits": 20000},
				"after": {"plan": "none", "subscription_id": null, "expires_at": null, "balance_credits": 20000},
				"reason": "trial over"}`, basic.Subscription.ID, basic.Subscription.ExpiresAt.UTC().Format(time.RFC3339)))
			if n := s.count(t, "SELECT COUNT(*) FROM subscriptions WHERE account_id = ? AND status = 'active'", u.AccountID); n != 0 {
				t.Errorf("%d active subscriptions after none", n)
			}
			s.verify(t)
		})
	})
}

type statusResult struct {
	AccountID     int64  `json:"account_id"`
	UserID        *int64 `json:"user_id"`
	Disabled      bool   `json:"disabled"`
	Changed       bool   `json:"changed"`
	SessionsEnded int64  `json:"sessions_ended"`
	Notified      bool   `json:"notified"`
}

// TestAdminAccountDisableEnable: disabling a user's account ends their
// sessions at once and stops their keys (the gateway's own condition on
// the user and the account, and the account event that makes gateways
// re-read it within seconds); enabling lets them back; a team's account
// is disabled by its status; every call is audited with {before, after,
// reason}.
func TestAdminAccountDisableEnable(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		// keyWorks is the gateway's condition on a key (keystore's lookup).
		keyWorks := func(t *testing.T, keyID int64) bool {
			return s.count(t, `SELECT COUNT(*) FROM api_keys k JOIN users u ON u.id = k.user_id JOIN accounts ua ON ua.id = u.account_id
JOIN accounts a ON a.id = k.account_id WHERE k.id = ? AND k.revoked_at IS NULL AND u.disabled_at IS NULL AND ua.status = 'active' AND a.status = 'active'`, keyID) == 1
		}
		t.Run("validation400", func(t *testing.T) {
			t.Parallel()
			_, u := s.SignUp(t, "statusval")
			for _, action := range []string{"disable", "enable"} {
				wantFields(t, admin.Do(t, accountAction(u.AccountID, action, map[string]any{})), action+" without a reason", "reason")
				wantFields(t, admin.Do(t, accountAction(u.AccountID, action, map[string]any{"reason": " x "})), action+" short reason", "reason")
				admin.Do(t, accountAction(999999, action, map[string]any{"reason": "nobody here"})).Want(t, http.StatusNotFound)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM users WHERE id = ? AND disabled_at IS NOT NULL", u.ID); n != 0 {
				t.Error("a refused disable disabled the user")
			}
		})
		t.Run("userAccount", func(t *testing.T) {
			t.Parallel()
			c, u := s.SignUp(t, "disabled")
			var key apitest.CreatedKey
			c.Do(t, post("/api/v1/api-keys", map[string]any{"name": "laptop"})).Want(t, http.StatusCreated).JSON(t, &key)
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			if !keyWorks(t, key.ID) {
				t.Fatal("the key does not work before the disable")
			}
			subject := fmt.Sprintf("user:%d", u.ID)
			open := s.count(t, "SELECT COUNT(*) FROM sessions WHERE user_id = ? AND revoked_at IS NULL", u.ID)
			if open == 0 {
				t.Fatal("the signed-in user has no open session")
			}

			var got statusResult
			admin.Do(t, accountAction(u.AccountID, "disable", map[string]any{"reason": "chargeback fraud"})).Want(t, http.StatusOK).JSON(t, &got)
			if got.AccountID != u.AccountID || got.UserID == nil || *got.UserID != u.ID || !got.Disabled || !got.Changed ||
				got.SessionsEnded != open || !got.Notified {
				t.Fatalf("disable: %+v", got)
			}
			if e := c.Do(t, get("/api/v1/me")).Want(t, http.StatusUnauthorized).Error(t); e.Code != "unauthorized" {
				t.Errorf("the disabled user's session: %+v", e)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM sessions WHERE user_id = ? AND (revoked_at IS NULL OR revoke_reason <> 'disabled')", u.ID); n != 0 {
				t.Errorf("%d sessions still open or ended otherwise", n)
			}
			if keyWorks(t, key.ID) {
				t.Error("the key still passes the gateway's condition")
			}
			if n := s.count(t, "SELECT COUNT(*) FROM account_events WHERE kind = 'account_disabled' AND account_id = ? AND subject = ?", u.AccountID, subject); n != 1 {
				t.Errorf("%d account_disabled events for the gateways", n)
			}
			e := lastAudit(t, admin, u.AccountID, "account.disable")
			wantDetails(t, e, fmt.Sprintf(`{"before": {"disabled": false}, "after": {"disabled": true, "sessions_ended": %d}, "reason": "chargeback fraud"}`, open))
			if e.ActorUserID == nil || e.Details["email"] != c.Email {
				t.Errorf("disable audit entry: %+v", e)
			}
			var p adminAccountPage
			admin.Do(t, get(fmt.Sprintf("/api/v1/admin/accounts?q=%s", url.QueryEscape(c.Email)))).Want(t, http.StatusOK).JSON(t, &p)
			if len(p.Data) != 1 || !p.Data[0].Disabled {
				t.Errorf("accounts list: %+v", p.Data)
			}
			if e := s.NewClient().Do(t, post("/api/v1/auth/login", map[string]any{"email": c.Email, "password": apitest.DefaultPassword})).
				Want(t, http.StatusForbidden).Error(t); e.Code != "forbidden" {
				t.Errorf("a disabled user's login: %+v", e)
			}

			// Again: nothing changes, but the call is audited.
			admin.Do(t, accountAction(u.AccountID, "disable", map[string]any{"reason": "second report"})).Want(t, http.StatusOK).JSON(t, &got)
			if got.Changed || got.SessionsEnded != 0 || !got.Disabled {
				t.Errorf("second disable: %+v", got)
			}
			wantDetails(t, lastAudit(t, admin, u.AccountID, "account.disable"),
				`{"before": {"disabled": true}, "after": {"disabled": true, "sessions_ended": 0}, "reason": "second report"}`)

			admin.Do(t, accountAction(u.AccountID, "enable", map[string]any{"reason": "bank withdrew the chargeback"})).Want(t, http.StatusOK).JSON(t, &got)
			if !got.Changed || got.Disabled || !got.Notified {
				t.Errorf("enable: %+v", got)
			}
			wantDetails(t, lastAudit(t, admin, u.AccountID, "account.enable"),
				`{"before": {"disabled": true}, "after": {"disabled": false, "sessions_ended": 0}, "reason": "bank withdrew the chargeback"}`)
			if !keyWorks(t, key.ID) {
				t.Error("the key does not work after the enable")
			}
			if n := s.count(t, "SELECT COUNT(*) FROM account_events WHERE kind = 'account_enabled' AND account_id = ? AND subject = ?", u.AccountID, subject); n != 1 {
				t.Errorf("%d account_enabled events for the gateways", n)
			}
			c.Login(t, c.Email, apitest.DefaultPassword, false)
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
		})
		t.Run("teamAccount", func(t *testing.T) {
			t.Parallel()
			owner, u := s.SignUp(t, "teamlead")
			team := s.team(t, u.ID, "Acme")
			var got statusResult
			admin.Do(t, accountAction(team, "disable", map[string]any{"reason": "unpaid invoice"})).Want(t, http.StatusOK).JSON(t, &got)
			if got.AccountID != team || got.UserID != nil || !got.Changed || got.SessionsEnded != 0 {
				t.Fatalf("team disable: %+v", got)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM accounts WHERE id = ? AND status = 'disabled'", team); n != 1 {
				t.Error("the team's account is not disabled")
			}
			// The owner's own account and session are untouched.
			owner.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)
			wantDetails(t, lastAudit(t, admin, team, "account.disable"),
				`{"before": {"disabled": false}, "after": {"disabled": true, "sessions_ended": 0}, "reason": "unpaid invoice"}`)
			if n := s.count(t, "SELECT COUNT(*) FROM account_events WHERE kind = 'account_disabled' AND account_id = ?", team); n != 1 {
				t.Errorf("%d account_disabled events for the team", n)
			}
			admin.Do(t, accountAction(team, "enable", map[string]any{"reason": "invoice paid"})).Want(t, http.StatusOK).JSON(t, &got)
			if !got.Changed || got.Disabled {
				t.Errorf("team enable: %+v", got)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM accounts WHERE id = ? AND status = 'active'", team); n != 1 {
				t.Error("the team's account is not active again")
			}
		})
	})
}

// TestAdminActions_AuditRowOnlyWithItsChange: a failure injected right
// after each action's audit insert, in its transaction, leaves neither the
// change nor the audit row.
func TestAdminActions_AuditRowOnlyWithItsChange(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			s := newShop(t, b)
			admin := s.adminClient(t)
			c, u := s.SignUp(t, "atomic")
			acct := fmt.Sprint(u.AccountID)
			admin.Do(t, accountAction(u.AccountID, "credits", map[string]any{"amount": 500, "reason": "starting balance"})).Want(t, http.StatusCreated)

			var failing string
			s.App.Store.SetAuditHook(func(_ context.Context, a ledger.Audit) error {
				if a.TargetID == acct && a.Action == failing {
					return errors.New("injected failure after the audit insert")
				}
				return nil
			})
			t.Cleanup(func() { s.App.Store.SetAuditHook(nil) })

			// state is everything the actions change, and the audit rows.
			state := func() string {
				t.Helper()
				return fmt.Sprint(
					s.count(t, "SELECT COUNT(*) FROM audit_log WHERE target_id = ?", acct),
					s.count(t, "SELECT COUNT(*) FROM credit_ledger WHERE account_id = ?", u.AccountID),
					s.count(t, "SELECT balance_credits FROM wallets WHERE account_id = ?", u.AccountID),
					s.count(t, "SELECT COUNT(*) FROM subscriptions WHERE account_id = ?", u.AccountID),
					s.count(t, "SELECT COUNT(*) FROM users WHERE id = ? AND disabled_at IS NOT NULL", u.ID),
					s.count(t, "SELECT COUNT(*) FROM sessions WHERE user_id = ? AND revoked_at IS NOT NULL", u.ID),
					s.count(t, "SELECT COUNT(*) FROM account_events WHERE account_id = ?", u.AccountID),
					s.count(t, "SELECT COUNT(*) FROM notifications"),
				)
			}
			for _, tc := range []struct {
				name, action string
				req          apitest.Request
			}{
				{"grant", "credits.adjust", accountAction(u.AccountID, "credits", map[string]any{"amount": 100, "reason": "goodwill"})},
				{"debit", "credits.adjust", accountAction(u.AccountID, "credits", map[string]any{"amount": -450, "reason": "correction"})},
				{"users route", "credits.adjust", adjust(u.ID, -10, "correction")},
				{"plan with credits", "plan.set", accountAction(u.AccountID, "plan", map[string]any{"plan": "pro", "with_credits": true, "reason": "pilot"})},
				{"disable", "account.disable", accountAction(u.AccountID, "disable", map[string]any{"reason": "fraud"})},
			} {
				before := state()
				failing = tc.action
				res, _ := admin.Try(tc.req) // a 500 is not in openapi.yaml
				if res == nil || res.Status != http.StatusInternalServerError {
					t.Fatalf("%s with a failing audit: %v", tc.name, res)
				}
				if e := res.Error(t); e.Code != "internal" || strings.Contains(e.Message, "injected") {
					t.Errorf("%s: %+v", tc.name, e)
				}
				if after := state(); after != before {
					t.Errorf("%s: state %s before, %s after a failure after the audit insert", tc.name, before, after)
				}
			}
			c.Do(t, get("/api/v1/me")).Want(t, http.StatusOK)

			// Enable, after a disable that commits.
			failing = ""
			admin.Do(t, accountAction(u.AccountID, "disable", map[string]any{"reason": "fraud"})).Want(t, http.StatusOK)
			before := state()
			failing = "account.enable"
			if res, _ := admin.Try(accountAction(u.AccountID, "enable", map[string]any{"reason": "cleared"})); res == nil || res.Status != http.StatusInternalServerError {
				t.Fatalf("enable with a failing audit: %v", res)
			}
			if after := state(); after != before {
				t.Errorf("enable: state %s before, %s after", before, after)
			}
			// Without the failure every action commits with its audit row.
			failing = ""
			admin.Do(t, accountAction(u.AccountID, "enable", map[string]any{"reason": "cleared"})).Want(t, http.StatusOK)
			if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE target_id = ? AND action = 'account.enable'", acct); n != 1 {
				t.Errorf("%d enable audit rows", n)
			}
			s.verify(t)
		})
	}
}
