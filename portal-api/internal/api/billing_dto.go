package api

import (
	"time"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/billing"
)

// planDTO is a plan as the API shows it: money in fils and formatted.
type planDTO struct {
	ID                 int64    `json:"id"`
	Code               string   `json:"code"`
	Name               string   `json:"name"`
	PriceFils          int64    `json:"price_fils"`
	Price              string   `json:"price"`
	Currency           string   `json:"currency"`
	Credits            int64    `json:"credits"`
	DurationDays       int      `json:"duration_days"`
	RateLimitPerMinute int      `json:"rate_limit_per_minute"`
	ModelClasses       []string `json:"model_classes"`
	CloudAllowed       bool     `json:"cloud_allowed"`
	EnterpriseModels   bool     `json:"enterprise_models"`
	TeamsAllowed       bool     `json:"teams_allowed"`
	Features           []string `json:"features"`
}

func toPlanDTO(p billing.Plan) planDTO {
	classes := make([]string, len(p.ModelClasses))
	for i, c := range p.ModelClasses {
		classes[i] = string(c)
	}
	features := p.Features
	if features == nil {
		features = []string{}
	}
	return planDTO{
		ID: p.ID, Code: string(p.Code), Name: p.Name, PriceFils: int64(p.Price), Price: p.Price.KWD(), Currency: billing.Currency,
		Credits: int64(p.Credits), DurationDays: p.DurationDays, RateLimitPerMinute: p.RateLimitPerMinute, ModelClasses: classes,
		CloudAllowed: p.CloudAllowed, EnterpriseModels: p.EnterpriseModels, TeamsAllowed: p.TeamsAllowed, Features: features,
	}
}

type planList struct {
	Data []planDTO `json:"data"`
}

type packDTO struct {
	ID        int64  `json:"id"`
	Code      string `json:"code"`
	Name      string `json:"name"`
	Credits   int64  `json:"credits"`
	PriceFils int64  `json:"price_fils"`
	Price     string `json:"price"`
	Currency  string `json:"currency"`
}

func toPackDTO(p billing.Pack) packDTO {
	return packDTO{ID: p.ID, Code: p.Code, Name: p.Name, Credits: int64(p.Credits), PriceFils: int64(p.Price), Price: p.Price.KWD(), Currency: billing.Currency}
}

type packList struct {
	Data []packDTO `json:"data"`
}

// billingDTO answers GET /api/v1/billing.
type billingDTO struct {
	// Status is active, expired or none.
	Status string `json:"status"`
	// Plan is the subscribed plan (active), the last one (expired), or null.
	Plan *planDTO `json:"plan"`
	// SubscriptionID is the subscription Plan belongs to.
	SubscriptionID *int64 `json:"subscription_id"`
	// ExpiresAt is when the running plan ends (or the last one ended).
	ExpiresAt *time.Time `json:"expires_at"`
	// RenewalDate is the Kuwait day of ExpiresAt while a plan runs: renew
	// (pay again) before it; nothing renews by itself.
	RenewalDate *string `json:"renewal_date"`
	// EffectivePlan is whose limits apply now: the plan, or Basic.
	EffectivePlan    planDTO `json:"effective_plan"`
	BalanceCredits   int64   `json:"balance_credits"`
	HeldCredits      int64   `json:"held_credits"`
	AvailableCredits int64   `json:"available_credits"`
	// PeriodCredits is the balance right after the most recent grant: the
	// M of "N of M credits left" (docs/adr/0012-credits-of-this-period.md).
	PeriodCredits int64 `json:"period_credits"`
}

func toBillingDTO(o billing.Overview) billingDTO {
	d := billingDTO{
		Status: o.State, EffectivePlan: toPlanDTO(o.Effective),
		BalanceCredits: int64(o.Balance.Total), HeldCredits: int64(o.Balance.Held), AvailableCredits: int64(o.Balance.Available),
		PeriodCredits: int64(o.Balance.Period),
	}
	if s := o.Subscription; s != nil {
		p := toPlanDTO(s.Plan)
		id := s.ID
		d.Plan, d.SubscriptionID = &p, &id
		end := s.ExpiresAt
		if s.EndedAt != nil && s.EndedAt.Before(end) {
			end = *s.EndedAt
		}
		end = end.UTC()
		d.ExpiresAt = &end
	}
	if t := o.RenewBy(); t != nil {
		day := t.In(resayil.KuwaitLocation()).Format("2006-01-02")
		d.RenewalDate = &day
	}
	return d
}

// paymentDTO is a payment as its owner sees it.
type paymentDTO struct {
	ID            int64      `json:"id"`
	Kind          string     `json:"kind"`
	Status        string     `json:"status"`
	PlanID        *int64     `json:"plan_id"`
	PackID        *int64     `json:"pack_id"`
	AmountFils    int64      `json:"amount_fils"`
	Amount        string     `json:"amount"`
	Currency      string     `json:"currency"`
	Credits       int64      `json:"credits"`
	InvoiceID     *string    `json:"invoice_id"`
	PaymentURL    *string    `json:"payment_url"`
	FailureReason *string    `json:"failure_reason"`
	CreatedAt     time.Time  `json:"created_at"`
	ExpiresAt     time.Time  `json:"expires_at"`
	PaidAt        *time.Time `json:"paid_at"`
}

func toPaymentDTO(p billing.Payment) paymentDTO {
	d := paymentDTO{
		ID: int64(p.ID), Kind: string(p.Kind), Status: string(p.Status), AmountFils: int64(p.Amount),
		Amount: p.Amount.KWD(), Currency: p.Currency, Credits: int64(p.Credits),
		CreatedAt: p.CreatedAt.UTC(), ExpiresAt: p.ExpiresAt.UTC(), PaidAt: utc(p.PaidAt),
	}
	if p.PlanID != 0 {
		d.PlanID = &p.PlanID
	}
	if p.PackID != 0 {
		d.PackID = &p.PackID
	}
	if p.InvoiceID != "" {
		d.InvoiceID = &p.InvoiceID
	}
	// The link only while it can still be paid.
	if p.PaymentURL != "" && p.Status == billing.StatusPending {
		d.PaymentURL = &p.PaymentURL
	}
	// A review's reason is for admins.
	if p.FailureReason != "" && p.Status != billing.StatusNeedsReview && p.Status != billing.StatusRejected {
		d.FailureReason = &p.FailureReason
	}
	return d
}

type paymentPage struct {
	Data []paymentDTO `json:"data"`
	// NextCursor is passed as ?cursor= for the next page; null on the last.
	NextCursor *string `json:"next_cursor"`
}

type checkoutRequest struct {
	Kind   string `json:"kind" validate:"required,oneof=subscription topup"`
	PlanID *int64 `json:"plan_id"`
	PackID *int64 `json:"pack_id"`
}

func (r checkoutRequest) toDomain() billing.CheckoutRequest {
	out := billing.CheckoutRequest{Kind: billing.PaymentKind(r.Kind)}
	if r.PlanID != nil {
		out.PlanID = *r.PlanID
	}
	if r.PackID != nil {
		out.PackID = *r.PackID
	}
	return out
}

type checkoutResponse struct {
	PaymentID  int64  `json:"payment_id"`
	PaymentURL string `json:"payment_url"`
}

// adjustCreditsRequest is checked by ledger.AdjustRequest.Validate, the
// rules of the accounts route too.
type adjustCreditsRequest struct {
	Delta  *int64 `json:"delta"`
	Reason string `json:"reason"`
}

type adjustCreditsResponse struct {
	Reference        string `json:"reference"`
	UserID           int64  `json:"user_id"`
	AccountID        int64  `json:"account_id"`
	Delta            int64  `json:"delta"`
	BalanceCredits   int64  `json:"balance_credits"`
	AvailableCredits int64  `json:"available_credits"`
	// Live is false when the change is recorded but the live (Redis)
	// wallet has not caught up yet; the reconciler applies it.
	Live bool `json:"live"`
}
