package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
)

var _ account.Store = (*Store)(nil)

var errUserNotFound = resayil.Errorf(resayil.ENOTFOUND, "The user does not exist.")

// UserCredentials implements account.Store.
func (s *Store) UserCredentials(ctx context.Context, email string) (account.User, string, error) {
	var row userRow
	err := s.conn(ctx).Where(byEmail, emailKeyArgs(email)...).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return account.User{}, "", errUserNotFound
	}
	if err != nil {
		return account.User{}, "", fmt.Errorf("user by e-mail: %w", err)
	}
	return row.toDomain(), row.PasswordHash, nil
}

// UserByID returns the user with the id.
func (s *Store) UserByID(ctx context.Context, id resayil.UserID) (account.User, error) {
	var row userRow
	err := s.conn(ctx).Where("id = ?", int64(id)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return account.User{}, errUserNotFound
	}
	if err != nil {
		return account.User{}, fmt.Errorf("user by id: %w", err)
	}
	return row.toDomain(), nil
}

// UserPasswordHash implements account.Store.
func (s *Store) UserPasswordHash(ctx context.Context, id resayil.UserID) (string, error) {
	var row userRow
	err := s.conn(ctx).Select("password_hash").Where("id = ?", int64(id)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", errUserNotFound
	}
	if err != nil {
		return "", fmt.Errorf("password hash: %w", err)
	}
	return row.PasswordHash, nil
}

// UpdateUser implements account.Store.
func (s *Store) UpdateUser(ctx context.Context, id resayil.UserID, p account.ProfileUpdate, now time.Time) (account.User, error) {
	set := map[string]any{"updated_at": now}
	if p.Name != nil {
		set["name"] = *p.Name
	}
	if p.Phone != nil {
		set["phone"] = *p.Phone
	}
	if p.Locale != nil {
		set["locale"] = string(*p.Locale)
	}
	if p.WhatsAppOptIn != nil {
		set["whatsapp_opt_in"] = *p.WhatsAppOptIn
	}
	res := s.conn(ctx).Model(&userRow{}).Where("id = ?", int64(id)).Updates(set)
	if res.Error != nil {
		return account.User{}, fmt.Errorf("update user: %w", res.Error)
	}
	return s.UserByID(ctx, id)
}

// SetPassword implements account.Store.
func (s *Store) SetPassword(ctx context.Context, id resayil.UserID, hash, keepSession string, now time.Time) error {
	return s.Tx(ctx, func(tx *Store) error {
		res := tx.conn(ctx).Model(&userRow{}).Where("id = ?", int64(id)).
			Updates(map[string]any{"password_hash": hash, "updated_at": now})
		if res.Error != nil {
			return fmt.Errorf("set password: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return errUserNotFound
		}
		_, err := tx.RevokeUserSessions(ctx, id, keepSession, account.RevokePasswordChanged, now)
		return err
	})
}
