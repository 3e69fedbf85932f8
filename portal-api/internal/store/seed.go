package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/resayil/portal/pkg/resayil"
)

type planRow struct {
	ID                 int64 `gorm:"primaryKey"`
	Code               string
	Name               string
	PriceFils          int64
	Credits            int64
	DurationDays       int
	RateLimitPerMinute int
	ModelClasses       string
	CloudAllowed       bool
	EnterpriseModels   bool
	TeamsAllowed       bool
	QueuePriority      int
	Features           string
	Active             bool
	SortOrder          int
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

func (planRow) TableName() string { return "subscription_plans" }

type packRow struct {
	ID        int64 `gorm:"primaryKey"`
	Code      string
	Name      string
	Credits   int64
	PriceFils int64
	Active    bool
	SortOrder int
	CreatedAt time.Time
	UpdatedAt time.Time
}

func (packRow) TableName() string { return "topup_packs" }

// DefaultPlans are the seeded tiers (docs/architecture.md); operators edit them in the
// database afterwards, and seeding never overwrites an edit.
var defaultPlans = []planRow{
	{Code: "basic", Name: "Basic", PriceFils: 5000, Credits: 5000, DurationDays: 30, RateLimitPerMinute: 10,
		ModelClasses: "small,medium", QueuePriority: 0, SortOrder: 1,
		Features: `["Small and medium models","10 requests per minute","Local GPUs only"]`},
	{Code: "pro", Name: "Pro", PriceFils: 15000, Credits: 20000, DurationDays: 30, RateLimitPerMinute: 30,
		ModelClasses: "small,medium,large,cloud", CloudAllowed: true, QueuePriority: 1, SortOrder: 2,
		Features: `["Small, medium, large and cloud models","30 requests per minute","Cloud failover when local GPUs are busy"]`},
	{Code: "enterprise", Name: "Enterprise", PriceFils: 50000, Credits: 100000, DurationDays: 30, RateLimitPerMinute: 60,
		ModelClasses: "small,medium,large,cloud", CloudAllowed: true, EnterpriseModels: true, TeamsAllowed: true, QueuePriority: 2, SortOrder: 3,
		Features: `["Every model, including enterprise-only ones","60 requests per minute","Priority queue","Teams with admin and member roles"]`},
}

var defaultPacks = []packRow{
	{Code: "topup-5k", Name: "5,000 credits", Credits: 5000, PriceFils: 2500, SortOrder: 1},
	{Code: "topup-15k", Name: "15,000 credits", Credits: 15000, PriceFils: 6500, SortOrder: 2},
	{Code: "topup-50k", Name: "50,000 credits", Credits: 50000, PriceFils: 20000, SortOrder: 3},
}

// SeedResult says what seeding created.
type SeedResult struct {
	Plans, Packs, Templates int
	AdminCreated            bool
	// AdminPhoneSet: the admin existed with resayil.PlaceholderPhone and
	// now has the configured number (and is opted in).
	AdminPhoneSet bool
}

// AdminSeed is the operator account to create when missing.
type AdminSeed struct {
	Email string
	Name  string
	// Phone is RESAYIL_ADMIN_PHONE; empty (or resayil.PlaceholderPhone)
	// gives the admin the placeholder, which is never messaged. An admin
	// with a real number is opted in to WhatsApp: admin alerts go to it.
	Phone        string
	PasswordHash string
}

// Seed inserts the default plans, top-up packs, notification templates and
// the admin user when they are missing. Running it again changes nothing.
func (s *Store) Seed(ctx context.Context, admin AdminSeed) (SeedResult, error) {
	var res SeedResult
	err := s.Tx(ctx, func(tx *Store) error {
		res = SeedResult{}
		now := time.Now().UTC()
		for _, p := range defaultPlans {
			created, err := insertMissing(tx.conn(ctx), &planRow{}, func() any {
				p.Active, p.CreatedAt, p.UpdatedAt = true, now, now
				return &p
			}, "code = ?", p.Code)
			if err != nil {
				return fmt.Errorf("seed plan %s: %w", p.Code, err)
			}
			if created {
				res.Plans++
			}
		}
		for _, p := range defaultPacks {
			created, err := insertMissing(tx.conn(ctx), &packRow{}, func() any {
				p.Active, p.CreatedAt, p.UpdatedAt = true, now, now
				return &p
			}, "code = ?", p.Code)
			if err != nil {
				return fmt.Errorf("seed pack %s: %w", p.Code, err)
			}
			if created {
				res.Packs++
			}
		}
		n, err := tx.seedTemplates(ctx, now)
		if err != nil {
			return err
		}
		res.Templates = n
		if admin.Email != "" {
			created, phoneSet, err := tx.seedAdmin(ctx, admin, now)
			if err != nil {
				return err
			}
			res.AdminCreated, res.AdminPhoneSet = created, phoneSet
		}
		return nil
	})
	return res, err
}

// insertMissing creates the row from make() unless a row matching where exists.
func insertMissing(db *gorm.DB, probe any, make func() any, where string, args ...any) (bool, error) {
	err := db.Session(&gorm.Session{NewDB: true}).Where(where, args...).Take(probe).Error
	if err == nil {
		return false, nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return false, err
	}
	if err := db.Session(&gorm.Session{NewDB: true}).Create(make()).Error; err != nil {
		return false, err
	}
	return true, nil
}

// UserExists reports whether a user with the e-mail exists.
func (s *Store) UserExists(ctx context.Context, email string) (bool, error) {
	var n int64
	err := s.conn(ctx).Table("users").Where(byEmail, emailKeyArgs(email)...).Count(&n).Error
	return n > 0, err
}

// seedAdmin creates the admin when missing. An admin that exists keeps
// what it has, except that a placeholder phone gives way to a configured
// number: the placeholder was never anyone's choice.
func (s *Store) seedAdmin(ctx context.Context, a AdminSeed, now time.Time) (created, phoneSet bool, err error) {
	hasPhone := a.Phone != "" && a.Phone != resayil.PlaceholderPhone
	phone := resayil.PlaceholderPhone
	if hasPhone {
		phone = a.Phone
	}
	exists, err := s.UserExists(ctx, a.Email)
	if err != nil {
		return false, false, err
	}
	if exists {
		if !hasPhone {
			return false, false, nil
		}
		res := s.conn(ctx).Model(&userRow{}).Where(byEmail+" AND phone = ?", append(emailKeyArgs(a.Email), resayil.PlaceholderPhone)...).
			Updates(map[string]any{"phone": phone, "whatsapp_opt_in": true, "updated_at": now})
		if res.Error != nil {
			return false, false, fmt.Errorf("seed admin phone: %w", res.Error)
		}
		return false, res.RowsAffected == 1, nil
	}
	_, err = s.CreateUser(ctx, NewUser{
		Email: a.Email, Name: a.Name, Phone: phone, PasswordHash: a.PasswordHash,
		Role: resayil.RoleAdmin, Locale: resayil.LocaleEN, WhatsAppOptIn: hasPhone,
	}, now)
	if err != nil {
		return false, false, fmt.Errorf("seed admin: %w", err)
	}
	return true, false, nil
}
