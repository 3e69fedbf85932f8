package api

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/admin"
	"github.com/resayil/portal/portal-api/internal/ledger"
)

// The admin's actions on an account: credits, plan, disable and enable.
// Each is one service call that commits the change and its audit row
// ({before, after, reason}) in one transaction; the credit and plan calls
// are the operator commands' own (ledger.Service), the status calls too
// (admin.Actions).

type accountCreditsRequest struct {
	Amount *int64 `json:"amount"`
	Reason string `json:"reason"`
}

func (r *accountCreditsRequest) normalize() { r.Reason = strings.TrimSpace(r.Reason) }

type accountCreditsResponse struct {
	Reference        string `json:"reference"`
	AccountID        int64  `json:"account_id"`
	UserID           *int64 `json:"user_id"`
	Amount           int64  `json:"amount"`
	BalanceCredits   int64  `json:"balance_credits"`
	AvailableCredits int64  `json:"available_credits"`
	// Live is false when the change is recorded but the live (Redis)
	// wallet has not caught up yet; the reconciler applies it.
	Live bool `json:"live"`
}

// adjustment runs a credit adjustment, for either route.
func (h *handlers) adjustment(c *fiber.Ctx, req ledger.AdjustRequest) (ledger.AdjustResult, int64, int64, error) {
	req.ActorUserID, req.IP = caller(c).User.ID, h.ips.clientIP(c)
	res, err := h.ledger.Adjust(c.UserContext(), req)
	if err != nil && !errors.Is(err, ledger.ErrNotLive) {
		return res, 0, 0, err
	}
	b, err := h.billing.Balance(c.UserContext(), res.Owner.Account)
	if err != nil {
		// The change is done; the balance is only shown.
		h.log.Warn("credits adjusted but the balance could not be read", "account", res.Owner.Account, "err", err)
		return res, 0, 0, nil
	}
	return res, int64(b.Total), int64(b.Available), nil
}

func (h *handlers) adjustAccountCredits(c *fiber.Ctx) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	var req accountCreditsRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	res, total, avail, err := h.adjustment(c, ledger.AdjustRequest{Account: id, Delta: resayil.Credits(deref64(req.Amount)), Reason: req.Reason})
	if err != nil {
		return err
	}
	out := accountCreditsResponse{Reference: res.Reference, AccountID: int64(res.Owner.Account), Amount: int64(res.Delta),
		BalanceCredits: total, AvailableCredits: avail, Live: res.Live}
	if res.Owner.User != 0 {
		u := int64(res.Owner.User)
		out.UserID = &u
	}
	return c.Status(fiber.StatusCreated).JSON(out)
}

// adjustCredits is POST /api/v1/admin/users/:id/credits, the older form
// of the accounts route: the user's personal account, the amount named
// delta. The same ledger.Service.Adjust does the work.
func (h *handlers) adjustCredits(c *fiber.Ctx) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return errUserNotFound
	}
	var req adjustCreditsRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	res, total, avail, err := h.adjustment(c, ledger.AdjustRequest{User: resayil.UserID(id), Delta: resayil.Credits(deref64(req.Delta)), Reason: req.Reason})
	if err != nil {
		return renameField(err, "amount", "delta")
	}
	return c.Status(fiber.StatusCreated).JSON(adjustCreditsResponse{Reference: res.Reference, UserID: int64(res.Owner.User),
		AccountID: int64(res.Owner.Account), Delta: int64(res.Delta), BalanceCredits: total, AvailableCredits: avail, Live: res.Live})
}

func deref64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// renameField returns err with its field errors named from renamed to:
// a route whose request names a field differently from the service.
func renameField(err error, from, to string) error {
	var re *resayil.Error
	if !errors.As(err, &re) || len(re.Fields) == 0 {
		return err
	}
	out := *re
	out.Fields = make([]resayil.FieldError, len(re.Fields))
	for i, f := range re.Fields {
		if f.Field == from {
			f.Field = to
		}
		out.Fields[i] = f
	}
	if len(out.Fields) == 1 {
		out.Message = out.Fields[0].Message
	}
	return &out
}

type accountPlanRequest struct {
	Plan        string `json:"plan"`
	WithCredits bool   `json:"with_credits"`
	Days        *int   `json:"days"`
	Reason      string `json:"reason"`
}

func (r *accountPlanRequest) normalize() {
	r.Reason = strings.TrimSpace(r.Reason)
}

// validate names every bad field; the service checks them again, with
// the rules that need the plan (none has no days and no credits).
func (r accountPlanRequest) validate() error {
	var fields []resayil.FieldError
	switch r.Plan {
	case "basic", "pro", "enterprise", "none":
	case "":
		fields = append(fields, resayil.FieldError{Field: "plan", Message: "This field is required."})
	default:
		fields = append(fields, resayil.FieldError{Field: "plan", Message: "Must be one of: basic, pro, enterprise, none."})
	}
	if r.Days != nil && (*r.Days < 1 || *r.Days > ledger.MaxDays) {
		fields = append(fields, resayil.FieldError{Field: "days", Message: "Must be a whole number from 1 to " + strconv.Itoa(ledger.MaxDays) + "."})
	}
	if p := ledger.ReasonProblem(r.Reason); p != "" {
		fields = append(fields, resayil.FieldError{Field: "reason", Message: p})
	}
	if len(fields) > 0 {
		return resayil.Invalid(fields...)
	}
	return nil
}

type adminSubscriptionDTO struct {
	ID        int64     `json:"id"`
	Plan      string    `json:"plan"`
	StartsAt  time.Time `json:"starts_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

type adminGrantDTO struct {
	Reference     string `json:"reference"`
	AmountCredits int64  `json:"amount_credits"`
	Live          bool   `json:"live"`
}

type accountPlanResponse struct {
	AccountID          int64                 `json:"account_id"`
	Plan               string                `json:"plan"`
	Subscription       *adminSubscriptionDTO `json:"subscription"`
	EndedSubscriptions []int64               `json:"ended_subscriptions"`
	Grant              *adminGrantDTO        `json:"grant"`
	// Notified is false when the gateways could not be told; they see
	// the change when their cached plan expires.
	Notified bool `json:"notified"`
}

func (h *handlers) setAccountPlan(c *fiber.Ctx) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	var req accountPlanRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	lr := ledger.PlanRequest{Account: id, Plan: resayil.TierCode(req.Plan), GrantCredits: req.WithCredits, Reason: req.Reason,
		ActorUserID: caller(c).User.ID, IP: h.ips.clientIP(c)}
	switch {
	case req.Plan == "none":
		lr.Plan = resayil.TierNone
		if req.Days != nil {
			lr.Days = *req.Days // refused by the service, naming days
		}
	case req.Days != nil:
		lr.Days = *req.Days
	default:
		lr.PlanDuration = true
	}
	res, err := h.ledger.SetPlan(c.UserContext(), lr)
	if err != nil && !errors.Is(err, ledger.ErrNotLive) && !errors.Is(err, ledger.ErrNotNotified) {
		return renameField(err, "grant_credits", "with_credits")
	}
	out := accountPlanResponse{AccountID: int64(res.Owner.Account), Plan: "none", EndedSubscriptions: res.Ended, Notified: res.Notified}
	if out.EndedSubscriptions == nil {
		out.EndedSubscriptions = []int64{}
	}
	if s := res.Subscription; s != nil {
		out.Plan = string(s.Plan.Code)
		out.Subscription = &adminSubscriptionDTO{ID: s.ID, Plan: string(s.Plan.Code), StartsAt: s.StartsAt, ExpiresAt: s.ExpiresAt}
	}
	if g := res.Grant; g != nil {
		out.Grant = &adminGrantDTO{Reference: g.Reference, AmountCredits: int64(g.Amount), Live: res.GrantLive}
	}
	return c.JSON(out)
}

type accountStatusRequest struct {
	Reason string `json:"reason"`
}

func (r *accountStatusRequest) normalize() { r.Reason = strings.TrimSpace(r.Reason) }

type accountStatusResponse struct {
	AccountID     int64  `json:"account_id"`
	UserID        *int64 `json:"user_id"`
	Disabled      bool   `json:"disabled"`
	Changed       bool   `json:"changed"`
	SessionsEnded int64  `json:"sessions_ended"`
	Notified      bool   `json:"notified"`
}

func (h *handlers) disableAccount(c *fiber.Ctx) error { return h.setAccountStatus(c, true) }
func (h *handlers) enableAccount(c *fiber.Ctx) error  { return h.setAccountStatus(c, false) }

func (h *handlers) setAccountStatus(c *fiber.Ctx, disabled bool) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	var req accountStatusRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	res, err := h.actions.SetDisabled(c.UserContext(), admin.StatusChange{Account: id, Disabled: disabled, Reason: req.Reason,
		By: admin.By{UserID: caller(c).User.ID, IP: h.ips.clientIP(c)}})
	if err != nil && !errors.Is(err, admin.ErrNotNotified) {
		return err
	}
	out := accountStatusResponse{AccountID: int64(res.Account), Disabled: disabled, Changed: res.Changed,
		SessionsEnded: res.SessionsEnded, Notified: res.Notified}
	if res.User != 0 {
		u := int64(res.User)
		out.UserID = &u
	}
	return c.JSON(out)
}
