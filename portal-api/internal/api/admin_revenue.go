package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/portal-api/internal/admin"
)

type revenuePeriodDTO struct {
	Period string `json:"period"`
	revenueTotalsDTO
}

type revenueReportDTO struct {
	Granularity string             `json:"granularity"`
	From        string             `json:"from"`
	To          string             `json:"to"`
	Timezone    string             `json:"timezone"`
	Currency    string             `json:"currency"`
	Periods     []revenuePeriodDTO `json:"periods"`
	Totals      revenueTotalsDTO   `json:"totals"`
}

func (h *handlers) getAdminRevenue(c *fiber.Ctx) error {
	rep, err := h.reports.Revenue(c.UserContext(), admin.RevenueParams{
		From: c.Query("from"), To: c.Query("to"), Granularity: c.Query("granularity"),
	})
	if err != nil {
		return err
	}
	out := revenueReportDTO{Granularity: rep.Granularity, From: rep.From, To: rep.To, Timezone: "Asia/Kuwait", Currency: "KWD",
		Periods: make([]revenuePeriodDTO, len(rep.Periods)), Totals: toRevenueTotals(rep.Totals)}
	for i, p := range rep.Periods {
		out.Periods[i] = revenuePeriodDTO{Period: p.Label, revenueTotalsDTO: toRevenueTotals(p.RevenueTotals)}
	}
	return c.JSON(out)
}
