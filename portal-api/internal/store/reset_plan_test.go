package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/portal-api/internal/account"
)

// TestResetQueries_UseIndexes EXPLAINs the password-reset reads as the
// store builds them, on tables with enough users and codes that the
// planner has a choice: a phone is found through ix_users_phone, and a
// user's newest code through ix_password_resets_user, in index order.
// It also checks what the phone lookup answers: one user, none, or
// ErrAmbiguousPhone for a number several users share.
func TestResetQueries_UseIndexes(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			t.Parallel()
			db, _ := testenv.Open(t, b)
			s := New(db)
			ctx := context.Background()
			now := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
			var someone resayil.UserID
			err := s.Tx(ctx, func(tx *Store) error {
				for i := range 300 {
					phone := fmt.Sprintf("+9655%07d", i)
					if i >= 295 {
						phone = "+96550000001" // shared by five users (and user 1)
					}
					u, err := tx.CreateUser(ctx, account.NewUser{Email: fmt.Sprintf("u%d@example.com", i), Name: "U", Phone: phone,
						PasswordHash: "x", Role: resayil.RoleUser, Locale: resayil.LocaleEN}, now)
					if err != nil {
						return err
					}
					someone = u.ID
					for j := range 3 {
						at := now.Add(time.Duration(j) * time.Minute)
						if err := tx.conn(ctx).Create(&passwordResetRow{UserID: int64(u.ID), CodeHash: "h", ExpiresAt: at.Add(10 * time.Minute), CreatedAt: at}).Error; err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			analyze := "ANALYZE"
			if db.Dialect == migrations.MySQL {
				analyze = "ANALYZE TABLE users, password_resets"
			}
			if _, err := db.SQL.ExecContext(ctx, analyze); err != nil {
				t.Fatal(err)
			}

			dry := s.conn(ctx).Session(&gorm.Session{DryRun: true})
			phone := "+96550000123"
			for name, tc := range map[string]struct {
				stmt  *gorm.Statement
				index string
			}{
				"user by phone":  {resetUserQuery(dry, account.ResetIdentity{Phone: &phone}).Find(&[]userRow{}).Statement, "ix_users_phone"},
				"newest code of": {latestResetQuery(dry, someone).Take(&passwordResetRow{}).Statement, "ix_password_resets_user"},
			} {
				plan := explain(t, db, tc.stmt.SQL.String(), tc.stmt.Vars)
				if problem := resetPlanProblem(db.Dialect, plan, tc.index); problem != "" {
					t.Errorf("%s: %s\nplan:\n%s", name, problem, strings.Join(plan, "\n"))
				}
			}

			for _, tc := range []struct {
				phone string
				want  error
			}{
				{"+96550000123", nil},
				{"+96550000001", account.ErrAmbiguousPhone},
				{"+96599999999", errUserNotFound},
			} {
				u, err := s.UserForReset(ctx, account.ResetIdentity{Phone: &tc.phone})
				if !errors.Is(err, tc.want) || (err == nil && u.Phone != tc.phone) {
					t.Errorf("UserForReset(%s) = %+v, %v; want %v", tc.phone, u, err, tc.want)
				}
			}
			r, err := s.LatestReset(ctx, someone)
			if err != nil || !r.CreatedAt.Equal(now.Add(2*time.Minute)) {
				t.Errorf("LatestReset = %+v, %v; want the code made at %s", r, err, now.Add(2*time.Minute))
			}
		})
	}
}

// resetPlanProblem says what is wrong with a plan that must read its one
// table through index, without sorting, or "".
func resetPlanProblem(d migrations.Dialect, plan []string, index string) string {
	if len(plan) == 0 {
		return "no plan"
	}
	for _, line := range plan {
		if d == migrations.MySQL {
			f := strings.Split(line, "|")
			if f[2] != index {
				return fmt.Sprintf("read through %q (type %s), not %s", f[2], f[1], index)
			}
			if strings.Contains(f[3], "filesort") {
				return "sorted instead of read in index order"
			}
			continue
		}
		if strings.Contains(line, "TEMP B-TREE") {
			return "sorted instead of read in index order: " + line
		}
		if !strings.Contains(line, "USING INDEX "+index+" ") && !strings.Contains(line, "USING COVERING INDEX "+index+" ") {
			return "not read through " + index + ": " + line
		}
	}
	return ""
}
