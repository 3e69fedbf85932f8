package store

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/apikey"
)

var _ apikey.Store = (*Store)(nil)

type apiKeyRow struct {
	ID         int64 `gorm:"primaryKey"`
	AccountID  int64
	UserID     int64
	Name       string
	Prefix     string
	KeyHash    string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func (apiKeyRow) TableName() string { return "api_keys" }

func (r apiKeyRow) toDomain() apikey.Key {
	return apikey.Key{
		ID: resayil.APIKeyID(r.ID), AccountID: resayil.AccountID(r.AccountID), UserID: resayil.UserID(r.UserID),
		Name: r.Name, Prefix: r.Prefix, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt, RevokedAt: r.RevokedAt,
	}
}

// CreateAPIKey implements apikey.Store. The user's row is locked first
// (forUpdate), so that counting the active keys and inserting one is a
// single step.
func (s *Store) CreateAPIKey(ctx context.Context, k apikey.NewKey, maxActive int) (apikey.Key, error) {
	var out apikey.Key
	err := s.Tx(ctx, func(tx *Store) error {
		var u userRow
		err := tx.conn(ctx).Clauses(forUpdate).Select("id").Where("id = ?", int64(k.UserID)).Take(&u).Error
		if isNotFound(err) {
			return errUserNotFound
		}
		if err != nil {
			return fmt.Errorf("lock user: %w", err)
		}
		var n int64
		if err := tx.conn(ctx).Model(&apiKeyRow{}).Where("user_id = ? AND revoked_at IS NULL", int64(k.UserID)).Count(&n).Error; err != nil {
			return fmt.Errorf("count keys: %w", err)
		}
		if n >= int64(maxActive) {
			return resayil.Errorf(resayil.ECONFLICT, "You already have %d active API keys, the most allowed. Revoke one before creating another.", maxActive)
		}
		row := apiKeyRow{AccountID: int64(k.AccountID), UserID: int64(k.UserID), Name: k.Name, Prefix: k.Prefix, KeyHash: k.Hash, CreatedAt: k.CreatedAt}
		if err := tx.conn(ctx).Create(&row).Error; err != nil {
			return fmt.Errorf("create key: %w", err)
		}
		out = row.toDomain()
		return nil
	})
	return out, err
}

// ListAPIKeys implements apikey.Store.
func (s *Store) ListAPIKeys(ctx context.Context, userID resayil.UserID) ([]apikey.Key, error) {
	var rows []apiKeyRow
	if err := s.conn(ctx).Where("user_id = ?", int64(userID)).Order("id DESC").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	out := make([]apikey.Key, len(rows))
	for i, r := range rows {
		out[i] = r.toDomain()
	}
	return out, nil
}

// RevokeAPIKey implements apikey.Store. The user id is part of every
// condition, so another user's key is indistinguishable from a missing one.
func (s *Store) RevokeAPIKey(ctx context.Context, userID resayil.UserID, id resayil.APIKeyID, now time.Time) (apikey.Key, error) {
	err := s.conn(ctx).Model(&apiKeyRow{}).Where("id = ? AND user_id = ? AND revoked_at IS NULL", int64(id), int64(userID)).
		Update("revoked_at", now).Error
	if err != nil {
		return apikey.Key{}, fmt.Errorf("revoke key: %w", err)
	}
	var row apiKeyRow
	err = s.conn(ctx).Where("id = ? AND user_id = ?", int64(id), int64(userID)).Take(&row).Error
	if isNotFound(err) {
		return apikey.Key{}, apikey.ErrNotFound
	}
	if err != nil {
		return apikey.Key{}, fmt.Errorf("read key: %w", err)
	}
	return row.toDomain(), nil
}
