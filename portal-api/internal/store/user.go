package store

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
)

type accountRow struct {
	ID        int64 `gorm:"primaryKey"`
	Kind      string
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (accountRow) TableName() string { return "accounts" }

type walletRow struct {
	AccountID      int64 `gorm:"primaryKey;autoIncrement:false"`
	BalanceCredits int64
	HeldCredits    int64
	UpdatedAt      time.Time
}

func (walletRow) TableName() string { return "wallets" }

type userRow struct {
	ID              int64 `gorm:"primaryKey"`
	AccountID       int64
	Email           string
	EmailNormalized string
	Phone           string
	Name            string
	PasswordHash    string
	Role            string
	Locale          string
	DisabledAt      *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time

	WhatsAppOptIn bool `gorm:"column:whatsapp_opt_in"`
}

func (userRow) TableName() string { return "users" }

func (r userRow) toDomain() account.User {
	return account.User{
		ID: resayil.UserID(r.ID), AccountID: resayil.AccountID(r.AccountID),
		Email: r.Email, Phone: r.Phone, Name: r.Name,
		Role: resayil.Role(r.Role), Locale: resayil.Locale(r.Locale),
		DisabledAt: r.DisabledAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		WhatsAppOptIn: r.WhatsAppOptIn,
	}
}

// byEmail finds the user of an e-mail address, with emailKeyArgs. The first
// comparison uses the unique index; the second makes the match exact. On
// MariaDB the column's utf8mb4_unicode_ci collation alone would match rows
// that only look alike ('katé' = 'kate', the Kelvin sign = 'k'), and rows
// stored before e-mails were ASCII-only may hold such addresses: a look-alike
// must not reach them. HEX compares the bytes on both databases.
const byEmail = "email_normalized = ? AND HEX(email_normalized) = HEX(?)"

// emailKeyArgs are byEmail's arguments for email.
func emailKeyArgs(email string) []any {
	k := emailKey(email)
	return []any{k, k}
}

// emailKey is the stored form of email (account.NormalizeEmail, the one
// normalisation), or "" for an address no user can have, which matches no
// row.
func emailKey(email string) string {
	k, _ := account.NormalizeEmail(email)
	return k
}

// NewUser is what CreateUser needs.
type NewUser = account.NewUser

// CreateUser creates a personal account, its empty wallet, the user and,
// with u.Welcome, the welcome notification in one transaction. A taken
// e-mail returns an ECONFLICT error.
func (s *Store) CreateUser(ctx context.Context, u NewUser, now time.Time) (account.User, error) {
	var out account.User
	normalized, ok := account.NormalizeEmail(u.Email)
	if !ok {
		return account.User{}, resayil.Invalid(resayil.FieldError{Field: "email", Message: account.EmailProblem(u.Email)})
	}
	err := s.Tx(ctx, func(tx *Store) error {
		acc := accountRow{Kind: string(resayil.AccountUser), Status: "active", CreatedAt: now, UpdatedAt: now}
		if err := tx.conn(ctx).Create(&acc).Error; err != nil {
			return fmt.Errorf("create account: %w", err)
		}
		if err := tx.conn(ctx).Create(&walletRow{AccountID: acc.ID, UpdatedAt: now}).Error; err != nil {
			return fmt.Errorf("create wallet: %w", err)
		}
		row := userRow{
			AccountID: acc.ID, Email: u.Email, EmailNormalized: normalized,
			Phone: u.Phone, Name: u.Name, PasswordHash: u.PasswordHash,
			Role: string(u.Role), Locale: string(u.Locale), CreatedAt: now, UpdatedAt: now,
			WhatsAppOptIn: u.WhatsAppOptIn,
		}
		if err := tx.conn(ctx).Create(&row).Error; err != nil {
			if IsDuplicate(err) {
				return resayil.Errorf(resayil.ECONFLICT, "An account with this e-mail address already exists.")
			}
			return fmt.Errorf("create user: %w", err)
		}
		out = row.toDomain()
		if u.Welcome {
			return tx.welcome(ctx, out, now)
		}
		return nil
	})
	return out, err
}
