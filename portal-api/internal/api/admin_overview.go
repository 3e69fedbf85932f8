package api

import (
	"math"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/admin"
)

// moneyDTO is an exact amount: integer fils and the same as KWD with three
// decimals.
type moneyDTO struct {
	Fils int64  `json:"fils"`
	KWD  string `json:"kwd"`
}

func toMoney(f resayil.Fils) moneyDTO { return moneyDTO{Fils: int64(f), KWD: f.Decimal()} }

// revenueTotalsDTO is the revenue of a period by paid time.
type revenueTotalsDTO struct {
	From     time.Time           `json:"from"`
	To       time.Time           `json:"to"`
	Total    moneyDTO            `json:"total"`
	ByTier   map[string]moneyDTO `json:"by_tier"`
	Topups   moneyDTO            `json:"topups"`
	Payments int64               `json:"payments"`
}

func toRevenueTotals(t admin.RevenueTotals) revenueTotalsDTO {
	out := revenueTotalsDTO{From: t.From.UTC(), To: t.To.UTC(), Total: toMoney(t.Total), ByTier: map[string]moneyDTO{},
		Topups: toMoney(t.Topups), Payments: t.Payments}
	for code, f := range t.ByTier {
		out.ByTier[code] = toMoney(f)
	}
	return out
}

type backendRequestsDTO struct {
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"error_rate"`
}

func toBackendRequests(b admin.BackendRequests) backendRequestsDTO {
	// Four decimals: a rate for people, not a float's noise.
	return backendRequestsDTO{Requests: b.Requests, Errors: b.Errors, ErrorRate: math.Round(b.ErrorRate()*10000) / 10000}
}

type overviewDTO struct {
	GeneratedAt time.Time `json:"generated_at"`
	Users       struct {
		Total    int64 `json:"total"`
		New7d    int64 `json:"new_7d"`
		New30d   int64 `json:"new_30d"`
		Disabled int64 `json:"disabled"`
	} `json:"users"`
	Subscriptions struct {
		ActiveTotal  int64            `json:"active_total"`
		ActiveByTier map[string]int64 `json:"active_by_tier"`
	} `json:"subscriptions"`
	Revenue struct {
		Currency   string           `json:"currency"`
		ThisMonth  revenueTotalsDTO `json:"this_month"`
		Last30Days revenueTotalsDTO `json:"last_30_days"`
	} `json:"revenue"`
	Credits struct {
		From            time.Time `json:"from"`
		To              time.Time `json:"to"`
		Granted         int64     `json:"granted"`
		DebitedByAdmins int64     `json:"debited_by_admins"`
		Consumed        int64     `json:"consumed"`
	} `json:"credits"`
	RequestsToday struct {
		Day   string             `json:"day"`
		From  time.Time          `json:"from"`
		Local backendRequestsDTO `json:"local"`
		Cloud backendRequestsDTO `json:"cloud"`
		Total backendRequestsDTO `json:"total"`
	} `json:"requests_today"`
	CloudBudget struct {
		Day     string `json:"day"`
		State   string `json:"state"`
		Used    *int64 `json:"used"`
		Cap     *int64 `json:"cap"`
		Percent *int64 `json:"percent"`
		CloudOn *bool  `json:"cloud_on"`
	} `json:"cloud_budget"`
	Notifications struct {
		Pending int64 `json:"pending"`
		Sending int64 `json:"sending"`
		Failed  int64 `json:"failed"`
	} `json:"notifications"`
}

func toOverviewDTO(o admin.Overview) overviewDTO {
	var out overviewDTO
	out.GeneratedAt = o.At.UTC()
	out.Users.Total, out.Users.New7d, out.Users.New30d, out.Users.Disabled = o.Users.Total, o.Users.New7d, o.Users.New30d, o.Users.Disabled
	out.Subscriptions.ActiveByTier = o.ActiveByTier
	for _, n := range o.ActiveByTier {
		out.Subscriptions.ActiveTotal += n
	}
	out.Revenue.Currency = "KWD"
	out.Revenue.ThisMonth, out.Revenue.Last30Days = toRevenueTotals(o.Month), toRevenueTotals(o.Last30)
	c := o.Credits
	out.Credits.From, out.Credits.To, out.Credits.Granted, out.Credits.DebitedByAdmins, out.Credits.Consumed = c.From.UTC(), c.To.UTC(), c.Granted, c.Debited, c.Consumed
	r := o.Requests
	out.RequestsToday.Day, out.RequestsToday.From = string(r.Day), r.From.UTC()
	out.RequestsToday.Local, out.RequestsToday.Cloud = toBackendRequests(r.Local), toBackendRequests(r.Cloud)
	out.RequestsToday.Total = toBackendRequests(admin.BackendRequests{Requests: r.Local.Requests + r.Cloud.Requests, Errors: r.Local.Errors + r.Cloud.Errors})
	b := o.Budget
	out.CloudBudget.Day, out.CloudBudget.State = string(b.Day), b.State
	if b.Known {
		out.CloudBudget.Used, out.CloudBudget.Cap, out.CloudBudget.Percent, out.CloudBudget.CloudOn = &b.Used, &b.Cap, &b.Percent, &b.CloudOn
	}
	n := o.Notifications
	out.Notifications.Pending, out.Notifications.Sending, out.Notifications.Failed = n.Pending, n.Sending, n.Failed
	return out
}

func (h *handlers) getAdminOverview(c *fiber.Ctx) error {
	o, err := h.reports.Overview(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(toOverviewDTO(o))
}
