package api

import (
	"strings"
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
)

// userDTO is a user as the API shows it: never the password hash.
type userDTO struct {
	ID        int64     `json:"id"`
	AccountID int64     `json:"account_id"`
	Email     string    `json:"email"`
	Phone     string    `json:"phone"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Locale    string    `json:"locale"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	WhatsAppOptIn bool `json:"whatsapp_opt_in"`
}

func toUserDTO(u account.User) userDTO {
	return userDTO{
		ID: int64(u.ID), AccountID: int64(u.AccountID), Email: u.Email, Phone: u.Phone, Name: u.Name,
		Role: string(u.Role), Locale: string(u.Locale), CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
		WhatsAppOptIn: u.WhatsAppOptIn,
	}
}

type userResponse struct {
	User userDTO `json:"user"`
}

type registerRequest struct {
	Name     string  `json:"name" validate:"name"`
	Email    string  `json:"email" validate:"email_address,email"`
	Phone    string  `json:"phone" validate:"required,phone"`
	Password string  `json:"password" validate:"required,password"`
	Locale   *string `json:"locale" validate:"omitnil,locale"`

	WhatsAppOptIn *bool `json:"whatsapp_opt_in"`
}

func (r *registerRequest) normalize() {
	r.Name, r.Email = strings.TrimSpace(r.Name), strings.TrimSpace(r.Email)
}

func toRegistration(r registerRequest, ip string) account.Registration {
	reg := account.Registration{Name: r.Name, Email: r.Email, Phone: r.Phone, Password: r.Password, IP: ip}
	if r.WhatsAppOptIn != nil {
		reg.WhatsAppOptIn = *r.WhatsAppOptIn
	}
	if r.Locale != nil {
		reg.Locale = resayil.Locale(*r.Locale)
	}
	return reg
}

type loginRequest struct {
	Email      string `json:"email" validate:"email_address"`
	Password   string `json:"password" validate:"required,max=1024" text:"secret"`
	RememberMe bool   `json:"remember_me"`
}

func (r *loginRequest) normalize() { r.Email = strings.TrimSpace(r.Email) }

// tokenResponse answers a login or a refresh.
type tokenResponse struct {
	AccessToken string  `json:"access_token"`
	TokenType   string  `json:"token_type"`
	ExpiresIn   int     `json:"expires_in"`
	User        userDTO `json:"user"`
}

func toTokenResponse(g account.Grant) tokenResponse {
	return tokenResponse{
		AccessToken: g.Access.Token, TokenType: "Bearer",
		ExpiresIn: int(g.Access.TTL / time.Second), User: toUserDTO(g.User),
	}
}

type updateMeRequest struct {
	Name   *string `json:"name" validate:"omitnil,name"`
	Phone  *string `json:"phone" validate:"omitnil,phone"`
	Locale *string `json:"locale" validate:"omitnil,locale"`

	WhatsAppOptIn *bool `json:"whatsapp_opt_in"`
}

func (r *updateMeRequest) normalize() {
	if r.Name != nil {
		n := strings.TrimSpace(*r.Name)
		r.Name = &n
	}
}

func toProfileUpdate(r updateMeRequest) account.ProfileUpdate {
	p := account.ProfileUpdate{Name: r.Name, Phone: r.Phone, WhatsAppOptIn: r.WhatsAppOptIn}
	if r.Locale != nil {
		l := resayil.Locale(*r.Locale)
		p.Locale = &l
	}
	return p
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password" validate:"required" text:"secret"`
	NewPassword     string `json:"new_password" validate:"required,password"`
}
