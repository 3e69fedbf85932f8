package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/resayil/portal/portal-api/internal/apitest"
)

type adjusted struct {
	Reference        string `json:"reference"`
	UserID           int64  `json:"user_id"`
	AccountID        int64  `json:"account_id"`
	Delta            int64  `json:"delta"`
	BalanceCredits   int64  `json:"balance_credits"`
	AvailableCredits int64  `json:"available_credits"`
	Live             bool   `json:"live"`
}

func adjust(userID int64, delta any, reason any) apitest.Request {
	body := map[string]any{}
	if delta != nil {
		body["delta"] = delta
	}
	if reason != nil {
		body["reason"] = reason
	}
	return post(fmt.Sprintf("/api/v1/admin/users/%d/credits", userID), body)
}

func (s *shop) adminClient(t *testing.T) *apitest.Client {
	t.Helper()
	a := s.NewClient()
	a.Login(t, s.admin, apitest.DefaultPassword, false)
	return a
}

func TestAdminCredits(t *testing.T) {
	eachShop(t, func(t *testing.T, s *shop) {
		admin := s.adminClient(t)
		t.Run("adminOnly", func(t *testing.T) {
			t.Parallel()
			c, u := s.SignUp(t, "notadmin")
			if e := c.Do(t, adjust(u.ID, 1000, "self-service")).Want(t, http.StatusForbidden).Error(t); e.Code != "forbidden" {
				t.Errorf("%+v", e)
			}
			s.Do(t, adjust(u.ID, 1000, "anonymous")).Want(t, http.StatusUnauthorized)
			if b := billingOf(t, c); b.BalanceCredits != 0 {
				t.Errorf("balance %d", b.BalanceCredits)
			}
		})
		t.Run("validation400", func(t *testing.T) {
			t.Parallel()
			_, u := s.SignUp(t, "valid")
			for _, tc := range []struct {
				req   apitest.Request
				field string
			}{
				{adjust(u.ID, nil, "why"), "delta"},
				{adjust(u.ID, 0, "why"), "delta"},
				{adjust(u.ID, 1.5, "why"), "delta"},
				{adjust(u.ID, 200_000_000, "why"), "delta"},
				{adjust(u.ID, 10, nil), "reason"},
				{adjust(u.ID, 10, "   "), "reason"},
				{adjust(u.ID, 10, "ab"), "reason"},
				{adjust(u.ID, 10, strings.Repeat("r", 501)), "reason"},
			} {
				e := admin.Do(t, tc.req).Want(t, http.StatusBadRequest).Error(t)
				if e.Code != "invalid" || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
					t.Errorf("%v: %+v", tc.req.Body, e)
				}
			}
			admin.Do(t, adjust(999999, 10, "nobody")).Want(t, http.StatusNotFound)
			if n := s.count(t, "SELECT COUNT(*) FROM credit_ledger WHERE account_id = ?", u.AccountID); n != 0 {
				t.Errorf("%d ledger rows after refused adjustments", n)
			}
		})
		t.Run("grantAndTakeNeverBelowZero", func(t *testing.T) {
			t.Parallel()
			c, u := s.SignUp(t, "adjusted")
			var got adjusted
			admin.Do(t, adjust(u.ID, 1000, "  goodwill  ")).Want(t, http.StatusCreated).JSON(t, &got)
			if !strings.HasPrefix(got.Reference, "admin:") || got.UserID != u.ID || got.AccountID != u.AccountID || got.BalanceCredits != 1000 || !got.Live {
				t.Errorf("grant: %+v", got)
			}
			admin.Do(t, adjust(u.ID, -300, "correction")).Want(t, http.StatusCreated).JSON(t, &got)
			if got.Delta != -300 || got.BalanceCredits != 700 {
				t.Errorf("debit: %+v", got)
			}
			e := admin.Do(t, adjust(u.ID, -701, "too much")).Want(t, http.StatusConflict).Error(t)
			if e.Code != "conflict" || !strings.Contains(e.Message, "700 credits available") {
				t.Errorf("below zero: %+v", e)
			}
			// Concurrent debits of the whole balance: one wins.
			var (
				wg   sync.WaitGroup
				errs goErrs
			)
			codes := make(chan int, 4)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					codes <- errs.status(admin.Try(adjust(u.ID, -700, "race")))
				}()
			}
			wg.Wait()
			close(codes)
			errs.report(t)
			var statuses []int
			won := 0
			for code := range codes {
				statuses = append(statuses, code)
				if code == http.StatusCreated {
					won++
				}
			}
			if won != 1 {
				t.Errorf("concurrent debits of the whole balance: %v, want exactly one 201", statuses)
			}
			if b := billingOf(t, c); b.BalanceCredits != 0 {
				t.Errorf("balance %d, want 0", b.BalanceCredits)
			}
			var rows []struct {
				Amount int64
				Kind   string
				Actor  int64
				Reason string
			}
			if err := s.DB.Gorm.Raw(`SELECT amount_credits AS amount, kind, actor_user_id AS actor, reason FROM credit_ledger WHERE account_id = ? ORDER BY id`, u.AccountID).
				Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			var amounts []int64
			for _, r := range rows {
				amounts = append(amounts, r.Amount)
				if r.Kind != "admin" || r.Actor == 0 {
					t.Errorf("ledger row %+v", r)
				}
			}
			if diff := cmp.Diff([]int64{1000, -300, -700}, amounts); diff != "" {
				t.Errorf("ledger amounts (-want +got):\n%s", diff)
			}
			if rows[0].Reason != "goodwill" {
				t.Errorf("reason %q", rows[0].Reason)
			}
			if n := s.count(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'credits.adjust' AND actor_user_id IS NOT NULL AND target_id = ?", fmt.Sprint(u.AccountID)); n != 3 {
				t.Errorf("%d audit rows, want 3", n)
			}
			s.verify(t)
		})
	})
}
