package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/billing"
)

var _ account.ResetStore = (*Store)(nil)

type passwordResetRow struct {
	ID        int64 `gorm:"primaryKey"`
	UserID    int64
	CodeHash  string
	Attempts  int
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

func (passwordResetRow) TableName() string { return "password_resets" }

func (r passwordResetRow) toDomain() account.Reset {
	return account.Reset{
		ID: r.ID, UserID: resayil.UserID(r.UserID), CodeHash: r.CodeHash, Attempts: r.Attempts,
		ExpiresAt: r.ExpiresAt, UsedAt: r.UsedAt, CreatedAt: r.CreatedAt,
	}
}

var errResetNotFound = resayil.Errorf(resayil.ENOTFOUND, "No password reset is pending.")

// UserForReset implements account.ResetStore. A phone is looked up
// through ix_users_phone; two rows are enough to know it is shared.
func (s *Store) UserForReset(ctx context.Context, id account.ResetIdentity) (account.User, error) {
	if id.Email == nil && id.Phone == nil {
		return account.User{}, errUserNotFound
	}
	var rows []userRow
	if err := resetUserQuery(s.conn(ctx), id).Find(&rows).Error; err != nil {
		return account.User{}, fmt.Errorf("user for reset: %w", err)
	}
	switch len(rows) {
	case 0:
		return account.User{}, errUserNotFound
	case 1:
		return rows[0].toDomain(), nil
	}
	return account.User{}, account.ErrAmbiguousPhone
}

// resetUserQuery selects the users of an identifier, at most two.
func resetUserQuery(q *gorm.DB, id account.ResetIdentity) *gorm.DB {
	if id.Email != nil {
		q = q.Where(byEmail, emailKeyArgs(*id.Email)...)
	} else {
		q = q.Where("phone = ?", *id.Phone)
	}
	return q.Limit(2)
}

// CreateReset implements account.ResetStore. Locking the user's row first
// serialises two requests for one user, so exactly one code stays live.
func (s *Store) CreateReset(ctx context.Context, r account.NewReset, now time.Time) error {
	return s.Tx(ctx, func(tx *Store) error {
		var u userRow
		if err := tx.conn(ctx).Clauses(forUpdate).Select("id").Where("id = ?", int64(r.UserID)).Take(&u).Error; err != nil {
			if isNotFound(err) {
				return errUserNotFound
			}
			return fmt.Errorf("lock user: %w", err)
		}
		if err := tx.conn(ctx).Model(&passwordResetRow{}).Where("user_id = ? AND used_at IS NULL", int64(r.UserID)).
			Update("used_at", now).Error; err != nil {
			return fmt.Errorf("end earlier reset codes: %w", err)
		}
		row := passwordResetRow{UserID: int64(r.UserID), CodeHash: r.CodeHash, ExpiresAt: r.ExpiresAt, CreatedAt: now}
		if err := tx.conn(ctx).Create(&row).Error; err != nil {
			return fmt.Errorf("store reset code: %w", err)
		}
		// The code travels in the outbox row (payload {"params":[code]});
		// the sender blanks it once the message is sent.
		_, err := insertNotification(ctx, tx, outboxEntry{
			DedupeKey: fmt.Sprintf("%s:%d", account.EventPasswordResetCode, row.ID),
			Event:     account.EventPasswordResetCode, Audience: billing.AudienceUser,
			Account: r.AccountID, User: r.UserID, Params: []string{r.Code},
		}, now)
		return err
	})
}

// LatestReset implements account.ResetStore, through
// ix_password_resets_user (user_id, created_at).
func (s *Store) LatestReset(ctx context.Context, user resayil.UserID) (account.Reset, error) {
	var row passwordResetRow
	err := latestResetQuery(s.conn(ctx), user).Take(&row).Error
	if isNotFound(err) {
		return account.Reset{}, errResetNotFound
	}
	if err != nil {
		return account.Reset{}, fmt.Errorf("latest reset: %w", err)
	}
	return row.toDomain(), nil
}

func latestResetQuery(q *gorm.DB, user resayil.UserID) *gorm.DB {
	return q.Where("user_id = ? AND used_at IS NULL", int64(user)).Order("created_at DESC").Order("id DESC")
}

// TakeResetAttempt implements account.ResetStore. The affected-row count
// of the conditional update is the rule: of any number of concurrent
// tries, at most max are counted and compared.
func (s *Store) TakeResetAttempt(ctx context.Context, id int64, max int, now time.Time) (bool, error) {
	res := s.conn(ctx).Model(&passwordResetRow{}).
		Where("id = ? AND used_at IS NULL AND attempts < ? AND expires_at > ?", id, max, now).
		Update("attempts", gorm.Expr("attempts + 1"))
	if res.Error != nil {
		return false, fmt.Errorf("take reset attempt: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// CompleteReset implements account.ResetStore. Marking the code used is
// conditional, so two confirmations with one code cannot both set a
// password.
func (s *Store) CompleteReset(ctx context.Context, id int64, user resayil.UserID, passwordHash string, now time.Time) (int, error) {
	var ended int
	err := s.Tx(ctx, func(tx *Store) error {
		res := tx.conn(ctx).Model(&passwordResetRow{}).Where("id = ? AND used_at IS NULL", id).Update("used_at", now)
		if res.Error != nil {
			return fmt.Errorf("use reset code: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return account.ErrResetUsed
		}
		res = tx.conn(ctx).Model(&userRow{}).Where("id = ?", int64(user)).
			Updates(map[string]any{"password_hash": passwordHash, "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("set password: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errUserNotFound
		}
		n, err := tx.RevokeUserSessions(ctx, user, "", account.RevokePasswordReset, now)
		ended = n
		return err
	})
	return ended, err
}
