package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"

	"github.com/resayil/portal/pkg/resayil"
)

// UserStatusChange is what SetUserDisabled did.
type UserStatusChange struct {
	UserID    resayil.UserID
	AccountID resayil.AccountID
	// Changed is false when the user already was in the requested state;
	// the call is still audited so an operator's retry leaves a trace.
	Changed bool
	// SessionsEnded counts the sessions a disable revoked.
	SessionsEnded int64
}

// Audit actions written by SetUserDisabled.
const (
	AuditUserDisable = "user.disable"
	AuditUserEnable  = "user.enable"
)

// SetUserDisabled disables (or enables again) the user with this e-mail,
// compared case-insensitively, in one transaction: it sets or clears
// users.disabled_at, on disable ends every open session (revoke_reason
// 'disabled', so access tokens are refused at once), and writes an audit_log
// row naming actor (e.g. "cli"). A first disable keeps its disabled_at when
// repeated. An unknown e-mail returns ENOTFOUND.
//
// It does not publish the account event: callers publish after this commits
// (see package accountevents), because a gateway told earlier could re-read
// the user before the commit and cache them as still enabled.
func (s *Store) SetUserDisabled(ctx context.Context, email string, disabled bool, actor string, now time.Time) (UserStatusChange, error) {
	var out UserStatusChange
	err := s.Tx(ctx, func(tx *Store) error {
		out = UserStatusChange{}
		var u struct {
			ID        int64
			AccountID int64
		}
		res := tx.conn(ctx).Raw(`SELECT id, account_id FROM users WHERE `+byEmail, emailKeyArgs(email)...).Scan(&u)
		if res.Error != nil {
			return fmt.Errorf("find user: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return resayil.Errorf(resayil.ENOTFOUND, "No user has the e-mail address %s.", email)
		}
		out.UserID, out.AccountID = resayil.UserID(u.ID), resayil.AccountID(u.AccountID)

		action, upd := AuditUserEnable, (*gorm.DB)(nil)
		if disabled {
			action = AuditUserDisable
			upd = tx.conn(ctx).Exec(`UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ? AND disabled_at IS NULL`, now, now, u.ID)
		} else {
			upd = tx.conn(ctx).Exec(`UPDATE users SET disabled_at = NULL, updated_at = ? WHERE id = ? AND disabled_at IS NOT NULL`, now, u.ID)
		}
		if upd.Error != nil {
			return fmt.Errorf("update user: %w", upd.Error)
		}
		out.Changed = upd.RowsAffected == 1

		if disabled {
			// Also when already disabled: a session that slipped in cannot survive.
			ended := tx.conn(ctx).Exec(`UPDATE sessions SET revoked_at = ?, revoke_reason = 'disabled' WHERE user_id = ? AND revoked_at IS NULL`, now, u.ID)
			if ended.Error != nil {
				return fmt.Errorf("end sessions: %w", ended.Error)
			}
			out.SessionsEnded = ended.RowsAffected
		}

		details, err := json.Marshal(map[string]any{
			"email": emailKey(email), "changed": out.Changed, "sessions_ended": out.SessionsEnded,
		})
		if err != nil {
			return err
		}
		if err := tx.conn(ctx).Exec(`INSERT INTO audit_log (actor, action, target_type, target_id, details, created_at) VALUES (?, ?, 'user', ?, ?, ?)`,
			actor, action, strconv.FormatInt(u.ID, 10), string(details), now).Error; err != nil {
			return fmt.Errorf("write audit log: %w", err)
		}
		return nil
	})
	if err != nil {
		return UserStatusChange{}, err
	}
	return out, nil
}
