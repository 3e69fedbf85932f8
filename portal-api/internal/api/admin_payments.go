package api

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/portal-api/internal/admin"
	"github.com/resayil/portal/portal-api/internal/billing"
)

// adminPaymentDTO is a payment as admins see it: with its account, user,
// our reference and MyFatoorah's ids.
type adminPaymentDTO struct {
	ID                int64      `json:"id"`
	Reference         string     `json:"reference"`
	AccountID         int64      `json:"account_id"`
	UserID            int64      `json:"user_id"`
	Kind              string     `json:"kind"`
	Status            string     `json:"status"`
	PlanID            *int64     `json:"plan_id"`
	PackID            *int64     `json:"pack_id"`
	AmountFils        int64      `json:"amount_fils"`
	Amount            string     `json:"amount"`
	Currency          string     `json:"currency"`
	Credits           int64      `json:"credits"`
	InvoiceID         *string    `json:"invoice_id"`
	ProviderPaymentID *string    `json:"provider_payment_id"`
	FailureReason     *string    `json:"failure_reason"`
	CreatedAt         time.Time  `json:"created_at"`
	ExpiresAt         time.Time  `json:"expires_at"`
	PaidAt            *time.Time `json:"paid_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
}

func toAdminPaymentDTO(p billing.Payment) adminPaymentDTO {
	d := adminPaymentDTO{ID: int64(p.ID), Reference: p.Reference, AccountID: int64(p.Account), UserID: int64(p.User),
		Kind: string(p.Kind), Status: string(p.Status), AmountFils: int64(p.Amount), Amount: p.Amount.KWD(), Currency: p.Currency,
		Credits: int64(p.Credits), InvoiceID: optional(p.InvoiceID), ProviderPaymentID: optional(p.ProviderPaymentID),
		FailureReason: optional(p.FailureReason), CreatedAt: p.CreatedAt.UTC(), ExpiresAt: p.ExpiresAt.UTC(), PaidAt: utc(p.PaidAt),
		UpdatedAt: p.UpdatedAt.UTC()}
	if p.PlanID != 0 {
		d.PlanID = &p.PlanID
	}
	if p.PackID != 0 {
		d.PackID = &p.PackID
	}
	return d
}

type adminPaymentPage struct {
	Data       []adminPaymentDTO `json:"data"`
	NextCursor *string           `json:"next_cursor"`
}

// paymentEventDTO is one event of a payment's history.
type paymentEventDTO struct {
	ID                 int64     `json:"id"`
	Source             string    `json:"source"`
	ProviderStatus     string    `json:"provider_status"`
	ProviderAmountFils *int64    `json:"provider_amount_fils"`
	ProviderAmount     *string   `json:"provider_amount"`
	ProviderCurrency   string    `json:"provider_currency"`
	InvoiceID          string    `json:"invoice_id"`
	ProviderPaymentID  string    `json:"provider_payment_id"`
	Decision           string    `json:"decision"`
	StatusBefore       string    `json:"status_before"`
	StatusAfter        string    `json:"status_after"`
	Detail             string    `json:"detail"`
	ActorUserID        *int64    `json:"actor_user_id"`
	CreatedAt          time.Time `json:"created_at"`
}

func toPaymentEventDTO(e billing.PaymentEvent) paymentEventDTO {
	d := paymentEventDTO{ID: e.ID, Source: string(e.Source), ProviderStatus: e.ProviderStatus, ProviderCurrency: e.ProviderCurrency,
		InvoiceID: e.InvoiceID, ProviderPaymentID: e.ProviderPaymentID, Decision: string(e.Decision),
		StatusBefore: string(e.StatusBefore), StatusAfter: string(e.StatusAfter), Detail: e.Detail, CreatedAt: e.CreatedAt.UTC()}
	if a := e.ProviderAmount; a != nil {
		f, s := int64(*a), a.Decimal()
		d.ProviderAmountFils, d.ProviderAmount = &f, &s
	}
	if e.ActorUserID != 0 {
		u := int64(e.ActorUserID)
		d.ActorUserID = &u
	}
	return d
}

// paymentHistoryNote is what the payment page says about its history.
const paymentHistoryNote = "The history lists what MyFatoorah answered each time it was asked (browser return, webhook, re-check job) and what was decided, and admins' resolutions. It starts with the release that added it: earlier events of older payments were not recorded."

type adminPaymentDetail struct {
	Payment     adminPaymentDTO   `json:"payment"`
	Events      []paymentEventDTO `json:"events"`
	HistoryNote string            `json:"history_note"`
}

func toAdminPaymentDetail(d admin.PaymentDetail) adminPaymentDetail {
	out := adminPaymentDetail{Payment: toAdminPaymentDTO(d.Payment), Events: make([]paymentEventDTO, len(d.Events)), HistoryNote: paymentHistoryNote}
	for i, e := range d.Events {
		out.Events[i] = toPaymentEventDTO(e)
	}
	return out
}

func (h *handlers) listAdminPayments(c *fiber.Ctx) error {
	page, err := h.payments.List(c.UserContext(), admin.PaymentParams{
		Status: c.Query("status"), Kind: c.Query("kind"), Account: c.Query("account_id"), From: c.Query("from"), To: c.Query("to"),
		Cursor: c.Query("cursor"), Limit: c.Query("limit"),
	})
	if err != nil {
		return err
	}
	out := adminPaymentPage{Data: make([]adminPaymentDTO, len(page.Items))}
	for i, p := range page.Items {
		out.Data[i] = toAdminPaymentDTO(p)
	}
	if page.Next != 0 {
		n := strconv.FormatInt(int64(page.Next), 10)
		out.NextCursor = &n
	}
	return c.JSON(out)
}

// paymentParam is the :id of an admin payment route; anything but a
// positive id is a payment that does not exist.
func paymentParam(c *fiber.Ctx) (billing.PaymentID, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, admin.ErrPaymentNotFound
	}
	return billing.PaymentID(id), nil
}

func (h *handlers) getAdminPayment(c *fiber.Ctx) error {
	id, err := paymentParam(c)
	if err != nil {
		return err
	}
	d, err := h.payments.Payment(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toAdminPaymentDetail(d))
}

type resolvePaymentRequest struct {
	Action string `json:"action" validate:"required,oneof=credit reject"`
	Reason string `json:"reason" validate:"not_blank,max=255"`
}

// resolveAdminPayment credits or rejects a payment in needs_review; the
// answer is the payment's page after it.
func (h *handlers) resolveAdminPayment(c *fiber.Ctx) error {
	id, err := paymentParam(c)
	if err != nil {
		return err
	}
	var req resolvePaymentRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	if _, err := h.billing.Resolve(c.UserContext(), billing.Resolution{Payment: id, Action: req.Action, Reason: req.Reason,
		ActorUserID: caller(c).User.ID, IP: h.ips.clientIP(c)}); err != nil {
		return err
	}
	d, err := h.payments.Payment(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(toAdminPaymentDetail(d))
}
