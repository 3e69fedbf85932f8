package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

// entries names each entry of a page by action and target.
func entries(p auditPage) []string {
	out := []string{}
	for _, e := range p.Data {
		out = append(out, e.Action+"/"+e.TargetID)
	}
	return out
}

// TestAdminAuditLog: the filters (actor, action, target, dates), newest
// first, cursor pages that list every row once across rows of the same
// instant, and per-field validation.
func TestAdminAuditLog(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin1 := s.adminClient(t)
		var me apitest.UserResponse
		admin1.Do(t, get("/api/v1/me")).Want(t, http.StatusOK).JSON(t, &me)
		admin2, second := s.SignUp(t, "admin2")
		if _, err := s.DB.SQL.Exec(`UPDATE users SET role = 'admin' WHERE id = ?`, second.ID); err != nil {
			t.Fatal(err)
		}
		admin2.Login(t, admin2.Email, apitest.DefaultPassword, false)
		_, a := s.SignUp(t, "audita")
		_, b := s.SignUp(t, "auditb")
		ta, tb := fmt.Sprint(a.AccountID), fmt.Sprint(b.AccountID)

		s.Clock.Advance(time.Minute)
		t0 := s.Clock.Now()
		admin1.Do(t, accountAction(a.AccountID, "credits", map[string]any{"amount": 100, "reason": "goodwill"})).Want(t, http.StatusCreated)
		s.Clock.Advance(time.Minute)
		admin2.Do(t, accountAction(b.AccountID, "disable", map[string]any{"reason": "fraud report"})).Want(t, http.StatusOK)
		s.Clock.Advance(time.Minute)
		admin1.Do(t, accountAction(a.AccountID, "plan", map[string]any{"plan": "basic", "reason": "trial"})).Want(t, http.StatusOK)
		s.Clock.Advance(time.Minute)
		// An operator's command, as `portal-api credits grant` writes it.
		if _, err := s.DB.SQL.Exec(`INSERT INTO audit_log (actor, action, target_type, target_id, details, ip, created_at) VALUES ('cli', 'credits.grant', 'account', ?, '{"reason":"by hand"}', '', ?)`,
			ta, s.Clock.Now()); err != nil {
			t.Fatal(err)
		}
		s.Clock.Advance(time.Minute)
		// Two entries of the same instant.
		admin2.Do(t, accountAction(b.AccountID, "enable", map[string]any{"reason": "cleared"})).Want(t, http.StatusOK)
		admin2.Do(t, accountAction(b.AccountID, "credits", map[string]any{"amount": 5, "reason": "sorry"})).Want(t, http.StatusCreated)

		from := t0.Format(time.RFC3339Nano)
		all := []string{"credits.adjust/" + tb, "account.enable/" + tb, "credits.grant/" + ta, "plan.set/" + ta, "account.disable/" + tb, "credits.adjust/" + ta}
		for _, tc := range []struct {
			q    url.Values
			want []string
		}{
			{url.Values{"from": {from}}, all},
			{url.Values{"actor": {fmt.Sprint(me.User.ID)}, "from": {from}}, []string{"plan.set/" + ta, "credits.adjust/" + ta}},
			{url.Values{"actor": {fmt.Sprint(second.ID)}}, []string{"credits.adjust/" + tb, "account.enable/" + tb, "account.disable/" + tb}},
			{url.Values{"actor": {"cli"}, "from": {from}}, []string{"credits.grant/" + ta}},
			{url.Values{"action": {"account.disable"}, "from": {from}}, []string{"account.disable/" + tb}},
			{url.Values{"action": {"credits.adjust"}, "actor": {fmt.Sprint(second.ID)}}, []string{"credits.adjust/" + tb}},
			{url.Values{"target_type": {"account"}, "target_id": {ta}, "from": {from}}, []string{"credits.grant/" + ta, "plan.set/" + ta, "credits.adjust/" + ta}},
			{url.Values{"from": {t0.Add(time.Minute).Format(time.RFC3339Nano)}, "to": {t0.Add(3 * time.Minute).Format(time.RFC3339Nano)}},
				[]string{"plan.set/" + ta, "account.disable/" + tb}},
			{url.Values{"target_type": {"user"}, "target_id": {ta}}, []string{}},
		} {
			if diff := cmp.Diff(tc.want, entries(auditLog(t, admin1, tc.q))); diff != "" {
				t.Errorf("%v (-want +got):\n%s", tc.q, diff)
			}
		}

		p := auditLog(t, admin1, url.Values{"actor": {"cli"}, "from": {from}})
		if e := p.Data[0]; e.ActorUserID != nil || e.Actor != "cli" || e.Details["reason"] != "by hand" {
			t.Errorf("operator's entry: %+v", e)
		}
		p = auditLog(t, admin1, url.Values{"action": {"account.disable"}, "from": {from}})
		if e := p.Data[0]; e.ActorUserID == nil || *e.ActorUserID != second.ID || e.TargetType != "account" || e.IP != admin2.IP {
			t.Errorf("admin's entry: %+v", e)
		}

		// Pages of one, two and four list every row once, in order.
		for _, limit := range []string{"1", "2", "4"} {
			var got []string
			q := url.Values{"from": {from}, "limit": {limit}}
			for range 10 {
				p := auditLog(t, admin1, q)
				got = append(got, entries(p)...)
				if p.NextCursor == nil {
					break
				}
				q.Set("cursor", *p.NextCursor)
			}
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("pages of %s (-want +got):\n%s", limit, diff)
			}
		}

		for q, field := range map[string]string{
			"actor=0":                           "actor",
			"actor=" + strings.Repeat("a", 65):  "actor",
			"action=" + strings.Repeat("a", 65): "action",
			"target_id=5":                       "target_type",
			"from=yesterday":                    "from",
			"to=2026-13-01T00:00:00Z":           "to",
			"from=" + url.QueryEscape(from) + "&to=" + url.QueryEscape(from): "to",
			"limit=0":   "limit",
			"limit=201": "limit",
			"cursor=zz": "cursor",
		} {
			wantFields(t, admin1.Do(t, get("/api/v1/admin/audit-log?"+q)), q, field)
		}
	})
}
