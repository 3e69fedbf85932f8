package api

import (
	"errors"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/billing"
)

func (h *handlers) listPlans(c *fiber.Ctx) error {
	plans, err := h.billing.Plans(c.UserContext())
	if err != nil {
		return err
	}
	out := planList{Data: make([]planDTO, len(plans))}
	for i, p := range plans {
		out.Data[i] = toPlanDTO(p)
	}
	return c.JSON(out)
}

func (h *handlers) listPacks(c *fiber.Ctx) error {
	packs, err := h.billing.Packs(c.UserContext())
	if err != nil {
		return err
	}
	out := packList{Data: make([]packDTO, len(packs))}
	for i, p := range packs {
		out.Data[i] = toPackDTO(p)
	}
	return c.JSON(out)
}

func (h *handlers) getBilling(c *fiber.Ctx, account resayil.AccountID) error {
	o, err := h.billing.Overview(c.UserContext(), account)
	if err != nil {
		return err
	}
	return c.JSON(toBillingDTO(o))
}

// defaultPageSize is the page of payments without ?limit.
const defaultPageSize = 20

func (h *handlers) listPayments(c *fiber.Ctx, account resayil.AccountID) error {
	limit := defaultPageSize
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return resayil.Invalid(resayil.FieldError{Field: "limit", Message: "Must be a whole number from 1 to 100."})
		}
		limit = n
	}
	var before int64
	if v := c.Query("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return resayil.Invalid(resayil.FieldError{Field: "cursor", Message: "Must be a next_cursor from a previous page."})
		}
		before = n
	}
	page, err := h.billing.Payments(c.UserContext(), account, billing.PaymentID(before), limit)
	if err != nil {
		return err
	}
	out := paymentPage{Data: make([]paymentDTO, len(page.Payments))}
	for i, p := range page.Payments {
		out.Data[i] = toPaymentDTO(p)
	}
	if page.Next != 0 {
		next := strconv.FormatInt(int64(page.Next), 10)
		out.NextCursor = &next
	}
	return c.JSON(out)
}

var errPaymentNotFound = resayil.Errorf(resayil.ENOTFOUND, "The payment does not exist.")

func (h *handlers) getPayment(c *fiber.Ctx, account resayil.AccountID) error {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return errPaymentNotFound
	}
	p, err := h.billing.Payment(c.UserContext(), account, billing.PaymentID(id))
	if err != nil {
		return err
	}
	return c.JSON(toPaymentDTO(p))
}

func (h *handlers) checkout(c *fiber.Ctx, account resayil.AccountID) error {
	var req checkoutRequest
	if err := bind(c, &req); err != nil {
		return err
	}
	u := caller(c).User
	out, err := h.billing.Checkout(c.UserContext(), billing.Buyer{User: u.ID, Account: account, Name: u.Name, Locale: u.Locale}, req.toDomain())
	if err != nil {
		return err
	}
	// 201 for a new payment; 200 for the item's checkout already pending,
	// handed out again (same payment_id and payment_url, no new invoice).
	status := fiber.StatusCreated
	if out.Existing {
		status = fiber.StatusOK
	}
	return c.Status(status).JSON(checkoutResponse{PaymentID: int64(out.Payment.ID), PaymentURL: out.Payment.PaymentURL})
}

// myfatoorahReturn is where MyFatoorah sends the browser back after the
// payment page (CallBackUrl and ErrorUrl), with ?paymentId=…. The status
// comes from GetPaymentStatus, never from the browser; whatever happens,
// the browser goes on to the SPA's result page.
//
// A client IP that has caused too many MyFatoorah calls recently is not
// asked about (returnThrottle): it still gets its redirect, to the result
// page with status pending, never a JSON 429; a real payment is then
// confirmed by its webhook or the re-check job.
func (h *handlers) myfatoorahReturn(c *fiber.Ctx) error {
	// A copy: fasthttp reuses the query's buffer, and billing may keep the id.
	id := strings.Clone(c.Query("paymentId"))
	out, err := h.billing.Return(c.UserContext(), id, h.returns.admit(h.ips.clientIP(c)))
	switch {
	case errors.Is(err, errReturnThrottled):
		h.log.Debug("myfatoorah return throttled", "request_id", httpserver.RequestID(c), "ip", h.ips.clientIP(c))
	case err != nil && !errors.Is(err, billing.ErrUnknownPayment): // billing logged what it knows
		level := h.log.Warn
		if resayil.ErrorCode(err) == resayil.EINTERNAL {
			level = h.log.Error
		}
		level("myfatoorah return not confirmed", "request_id", httpserver.RequestID(c), "err", err)
	}
	return c.Redirect(h.billing.ResultURL(out), fiber.StatusFound)
}

type webhookAck struct {
	Status string `json:"status"`
}

// myfatoorahWebhook receives MyFatoorah's webhook V2: a bad or missing
// signature is 401 and changes nothing; a payment-status event is
// confirmed with GetPaymentStatus and applied; anything else is
// acknowledged (2xx) so MyFatoorah stops retrying it. The body is read
// as sent, whatever its Content-Type (no bind, so no 415): the signature
// covers the fields, and MyFatoorah's headers are not ours to choose.
func (h *handlers) myfatoorahWebhook(c *fiber.Ctx) error {
	body := append([]byte(nil), c.Body()...)
	if _, err := h.billing.Webhook(c.UserContext(), body, c.Get("MyFatoorah-Signature")); err != nil {
		return err
	}
	return c.JSON(webhookAck{Status: "ok"})
}

var errAdminOnly = resayil.Errorf(resayil.EFORBIDDEN, "Only administrators may do this.")

// adminOnly admits only callers with the admin role.
func adminOnly(fn func(h *handlers, c *fiber.Ctx) error) func(h *handlers, c *fiber.Ctx) error {
	return func(h *handlers, c *fiber.Ctx) error {
		if caller(c).User.Role != resayil.RoleAdmin {
			return errAdminOnly
		}
		return fn(h, c)
	}
}

var errUserNotFound = resayil.Errorf(resayil.ENOTFOUND, "The user does not exist.")
