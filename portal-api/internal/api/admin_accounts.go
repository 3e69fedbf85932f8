package api

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/admin"
	"github.com/resayil/portal/portal-api/internal/apikey"
	"github.com/resayil/portal/portal-api/internal/usage"
)

// adminAccountDTO is a row of the admin's accounts and users lists.
type adminAccountDTO struct {
	ID             int64             `json:"id"`
	Kind           string            `json:"kind"`
	CreatedAt      time.Time         `json:"created_at"`
	User           *adminAccountUser `json:"user"`
	TeamName       *string           `json:"team_name"`
	Plan           string            `json:"plan"`
	PlanExpiresAt  *time.Time        `json:"plan_expires_at"`
	BalanceCredits int64             `json:"balance_credits"`
	Disabled       bool              `json:"disabled"`
}

type adminAccountUser struct {
	ID         int64      `json:"id"`
	Email      string     `json:"email"`
	Name       string     `json:"name"`
	Phone      string     `json:"phone"`
	Role       string     `json:"role"`
	DisabledAt *time.Time `json:"disabled_at"`
	CreatedAt  time.Time  `json:"created_at"`
}

func toAdminAccountDTO(a admin.Account) adminAccountDTO {
	out := adminAccountDTO{ID: int64(a.ID), Kind: string(a.Kind), CreatedAt: a.CreatedAt, Plan: a.Plan,
		PlanExpiresAt: a.PlanExpiresAt, BalanceCredits: a.BalanceCredits, Disabled: a.Disabled}
	if out.Plan == "" {
		out.Plan = "none"
	}
	if u := a.User; u != nil {
		out.User = &adminAccountUser{ID: int64(u.ID), Email: u.Email, Name: u.Name, Phone: u.Phone, Role: u.Role,
			DisabledAt: u.DisabledAt, CreatedAt: u.CreatedAt}
	}
	if a.TeamName != "" {
		n := a.TeamName
		out.TeamName = &n
	}
	return out
}

type adminAccountPage struct {
	Data       []adminAccountDTO `json:"data"`
	NextCursor *string           `json:"next_cursor"`
}

func (h *handlers) listAdminAccounts(c *fiber.Ctx) error { return h.adminAccountList(c, false) }
func (h *handlers) listAdminUsers(c *fiber.Ctx) error    { return h.adminAccountList(c, true) }

func (h *handlers) adminAccountList(c *fiber.Ctx, usersOnly bool) error {
	page, err := h.admin.Accounts(c.UserContext(), admin.AccountParams{
		Q: c.Query("q"), Kind: c.Query("kind"), Plan: c.Query("plan"), Disabled: c.Query("disabled"),
		HasBalance: c.Query("has_balance"), Sort: c.Query("sort"), Cursor: c.Query("cursor"), Limit: c.Query("limit"),
	}, usersOnly)
	if err != nil {
		return err
	}
	out := adminAccountPage{Data: make([]adminAccountDTO, len(page.Items))}
	for i, a := range page.Items {
		out.Data[i] = toAdminAccountDTO(a)
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	return c.JSON(out)
}

// accountParam is the :id of an admin account route; anything but a
// positive id is an account that does not exist.
func accountParam(c *fiber.Ctx) (resayil.AccountID, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, admin.ErrAccountNotFound
	}
	return resayil.AccountID(id), nil
}

// adminAccountDetail is an account's page: the list's row, its billing
// (plan, expiry, live balance), 30 days of usage by day, its user's keys
// (metadata only) and its latest payments.
type adminAccountDetail struct {
	Account  adminAccountDTO `json:"account"`
	Billing  billingDTO      `json:"billing"`
	Usage    usageSummaryDTO `json:"usage"`
	Keys     []keyDTO        `json:"keys"`
	Payments paymentPage     `json:"payments"`
}

// accountPagePayments is how many payments the account page shows; the
// rest are in the payments list.
const accountPagePayments = 20

func (h *handlers) getAdminAccount(c *fiber.Ctx) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	ctx := c.UserContext()
	a, err := h.admin.Account(ctx, id)
	if err != nil {
		return err
	}
	o, err := h.billing.Overview(ctx, id)
	if err != nil {
		return err
	}
	// The usage routes' own query: the last 30 days (its default), by day.
	sum, err := h.usage.Summary(ctx, id, usage.SummaryQuery{})
	if err != nil {
		return err
	}
	var keys []apikey.Key
	if a.User != nil {
		if keys, err = h.keys.List(ctx, a.User.ID); err != nil {
			return err
		}
	}
	pays, err := h.billing.Payments(ctx, id, 0, accountPagePayments)
	if err != nil {
		return err
	}
	out := adminAccountDetail{Account: toAdminAccountDTO(a), Billing: toBillingDTO(o), Usage: toUsageSummaryDTO(sum),
		Keys: toKeyListResponse(keys).Data, Payments: paymentPage{Data: make([]paymentDTO, len(pays.Payments))}}
	for i, p := range pays.Payments {
		out.Payments.Data[i] = toPaymentDTO(p)
	}
	if pays.Next != 0 {
		next := strconv.FormatInt(int64(pays.Next), 10)
		out.Payments.NextCursor = &next
	}
	return c.JSON(out)
}

type ledgerEntryDTO struct {
	ID            int64     `json:"id"`
	Reference     string    `json:"reference"`
	Kind          string    `json:"kind"`
	AmountCredits int64     `json:"amount_credits"`
	Reason        string    `json:"reason"`
	ActorUserID   *int64    `json:"actor_user_id"`
	CreatedAt     time.Time `json:"created_at"`
}

type ledgerPageDTO struct {
	Data       []ledgerEntryDTO `json:"data"`
	NextCursor *string          `json:"next_cursor"`
}

func (h *handlers) getAdminLedger(c *fiber.Ctx) error {
	id, err := accountParam(c)
	if err != nil {
		return err
	}
	var fields []resayil.FieldError
	limit := 0
	if v := c.Query("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 {
			fields = append(fields, resayil.FieldError{Field: "limit", Message: "The limit must be a whole number from 1 to 200."})
		}
	}
	var before int64
	if v := c.Query("cursor"); v != "" {
		if before, err = strconv.ParseInt(v, 10, 64); err != nil || before <= 0 {
			fields = append(fields, resayil.FieldError{Field: "cursor", Message: "The cursor is not one this list returned."})
		}
	}
	if len(fields) > 0 {
		return resayil.Invalid(fields...)
	}
	page, err := h.admin.Ledger(c.UserContext(), id, before, limit)
	if err != nil {
		return err
	}
	out := ledgerPageDTO{Data: make([]ledgerEntryDTO, len(page.Items))}
	for i, e := range page.Items {
		out.Data[i] = ledgerEntryDTO{ID: e.ID, Reference: e.Reference, Kind: e.Kind, AmountCredits: e.Amount,
			Reason: e.Reason, ActorUserID: e.ActorUserID, CreatedAt: e.CreatedAt}
	}
	if page.Next != 0 {
		n := strconv.FormatInt(page.Next, 10)
		out.NextCursor = &n
	}
	return c.JSON(out)
}
