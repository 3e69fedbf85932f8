package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/admin"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

var _ admin.ActionStore = (*Store)(nil)

// statusTarget is the account a status change names, with its user.
type statusTarget struct {
	AccountID  int64
	Kind       string
	Status     string
	UserID     *int64
	Email      *string
	DisabledAt *time.Time
}

// SetAccountDisabled implements admin.ActionStore. The account row (and
// its user's) is locked first, so two changes of one account run one
// after the other and each audit row's before is what the change found.
// A first disable keeps its disabled_at when repeated; on disable every
// open session of the user ends (revoke_reason 'disabled', so access
// tokens are refused at once), also when the user already was disabled:
// a session that slipped in cannot survive.
//
// It does not publish the account event: the caller publishes after this
// commits (see package accountevents).
func (s *Store) SetAccountDisabled(ctx context.Context, c admin.StatusChange, now time.Time) (admin.StatusChanged, error) {
	var out admin.StatusChanged
	err := s.Tx(ctx, func(tx *Store) error {
		out = admin.StatusChanged{}
		t, err := tx.lockStatusTarget(ctx, c)
		if err != nil {
			return err
		}
		out.Account = resayil.AccountID(t.AccountID)
		wasDisabled := t.Status == "disabled"
		if t.UserID != nil {
			out.User, out.Email = resayil.UserID(*t.UserID), deref(t.Email)
			wasDisabled = t.DisabledAt != nil
		}

		switch {
		case t.UserID != nil && c.Disabled:
			res := tx.conn(ctx).Exec(`UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ? AND disabled_at IS NULL`, now, now, *t.UserID)
			if res.Error != nil {
				return fmt.Errorf("disable user: %w", res.Error)
			}
			out.Changed = res.RowsAffected == 1
			ended := tx.conn(ctx).Exec(`UPDATE sessions SET revoked_at = ?, revoke_reason = 'disabled' WHERE user_id = ? AND revoked_at IS NULL`, now, *t.UserID)
			if ended.Error != nil {
				return fmt.Errorf("end sessions: %w", ended.Error)
			}
			out.SessionsEnded = ended.RowsAffected
		case t.UserID != nil:
			res := tx.conn(ctx).Exec(`UPDATE users SET disabled_at = NULL, updated_at = ? WHERE id = ? AND disabled_at IS NOT NULL`, now, *t.UserID)
			if res.Error != nil {
				return fmt.Errorf("enable user: %w", res.Error)
			}
			out.Changed = res.RowsAffected == 1
		default:
			// A team's account: the gateway refuses every key drawing on
			// an account whose status is not active.
			from, to := "active", "disabled"
			if !c.Disabled {
				from, to = "disabled", "active"
			}
			res := tx.conn(ctx).Exec(`UPDATE accounts SET status = ?, updated_at = ? WHERE id = ? AND status = ?`, to, now, t.AccountID, from)
			if res.Error != nil {
				return fmt.Errorf("set account status: %w", res.Error)
			}
			out.Changed = res.RowsAffected == 1
		}

		action := admin.AuditAccountEnable
		if c.Disabled {
			action = admin.AuditAccountDisable
		}
		details := map[string]any{
			"reason":  c.Reason,
			"before":  map[string]any{"disabled": wasDisabled},
			"after":   map[string]any{"disabled": c.Disabled, "sessions_ended": out.SessionsEnded},
			"changed": out.Changed, "kind": t.Kind,
		}
		if out.User != 0 {
			details["user_id"], details["email"] = out.User, out.Email
		}
		return tx.insertAudit(ctx, ledger.Audit{Actor: c.By.Actor, ActorUserID: c.By.UserID, IP: c.By.IP, Action: action,
			TargetType: "account", TargetID: strconv.FormatInt(t.AccountID, 10), Details: details}, now)
	})
	if err != nil {
		return admin.StatusChanged{}, err
	}
	return out, nil
}

// lockStatusTarget finds and locks the account of c (by id, or by its
// user's e-mail compared case-insensitively) and its user when it is a
// user's personal account.
func (s *Store) lockStatusTarget(ctx context.Context, c admin.StatusChange) (statusTarget, error) {
	account := int64(c.Account)
	if account == 0 {
		var ids []int64
		if err := s.conn(ctx).Raw(`SELECT account_id FROM users WHERE `+byEmail, emailKeyArgs(c.Email)...).Scan(&ids).Error; err != nil {
			return statusTarget{}, fmt.Errorf("find user: %w", err)
		}
		if len(ids) == 0 {
			return statusTarget{}, resayil.Errorf(resayil.ENOTFOUND, "No user has the e-mail address %s.", c.Email)
		}
		account = ids[0]
	}
	var acc []struct {
		Kind   string
		Status string
	}
	if err := s.conn(ctx).Table("accounts").Select("kind, status").Clauses(forUpdate).Where("id = ?", account).Find(&acc).Error; err != nil {
		return statusTarget{}, fmt.Errorf("lock account: %w", err)
	}
	if len(acc) == 0 {
		return statusTarget{}, resayil.Errorf(resayil.ENOTFOUND, "The account does not exist.")
	}
	t := statusTarget{AccountID: account, Kind: acc[0].Kind, Status: acc[0].Status}
	if t.Kind != string(resayil.AccountUser) {
		return t, nil
	}
	var users []struct {
		ID         int64
		Email      string
		DisabledAt *time.Time
	}
	if err := s.conn(ctx).Table("users").Select("id, email, disabled_at").Clauses(forUpdate).Where("account_id = ?", account).
		Order("id").Limit(1).Find(&users).Error; err != nil {
		return statusTarget{}, fmt.Errorf("lock user: %w", err)
	}
	if len(users) == 1 {
		u := users[0]
		t.UserID, t.Email, t.DisabledAt = &u.ID, &u.Email, u.DisabledAt
	}
	return t, nil
}
