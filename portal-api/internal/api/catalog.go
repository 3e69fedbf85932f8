package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/billing"
)

// modelDTO is one model of the catalog the gateway serves.
type modelDTO struct {
	ID    string `json:"id"`
	Class string `json:"class"`
	// Plans are the codes of the plans that may use the model, cheapest
	// first: the gateway's rule (catalog.Allowed) over the plans on sale.
	Plans []string `json:"plans"`
	// Local and Cloud say where the model can run: on the operator's
	// GPUs, in the cloud (a paid plan's failover, or a cloud-only model).
	Local bool `json:"local"`
	Cloud bool `json:"cloud"`
	// CreditsPer1K is the price on a local GPU; CloudCreditsPer1K the
	// price in the cloud (CloudMultiplier times it), null when the model
	// never runs there.
	CreditsPer1K      int64  `json:"credits_per_1k_tokens"`
	CloudCreditsPer1K *int64 `json:"cloud_credits_per_1k_tokens"`
}

type modelList struct {
	Data []modelDTO `json:"data"`
	// CloudMultiplier is how many times the local price a request served
	// in the cloud costs.
	CloudMultiplier int64 `json:"cloud_multiplier"`
}

// toModelDTO describes m for the plans on sale (ordered cheapest first).
func toModelDTO(m *catalog.Model, plans []billing.Plan) modelDTO {
	d := modelDTO{
		ID: m.ID, Class: string(m.Class), Plans: []string{},
		Local: !m.CloudOnly && m.Local != "", Cloud: m.HasCloud(), CreditsPer1K: m.CreditsPer1KTokens,
	}
	for _, p := range plans {
		if catalog.Allowed(m, p.Access()) {
			d.Plans = append(d.Plans, string(p.Code))
		}
	}
	if d.Cloud {
		c := m.CreditsPer1KTokens * catalog.CloudMultiplier
		d.CloudCreditsPer1K = &c
	}
	return d
}

// listModels lists the gateway's catalog (restricted models are not in
// it), read again when the file changes.
func (h *handlers) listModels(c *fiber.Ctx) error {
	plans, err := h.billing.Plans(c.UserContext())
	if err != nil {
		return err
	}
	models := h.catalog.Get().Models()
	out := modelList{Data: make([]modelDTO, len(models)), CloudMultiplier: catalog.CloudMultiplier}
	for i, m := range models {
		out.Data[i] = toModelDTO(m, plans)
	}
	return c.JSON(out)
}

// configDTO is what the web app needs before anyone signs in.
type configDTO struct {
	// GatewayURL is the gateway's public base URL, for code examples.
	GatewayURL string   `json:"gateway_url"`
	Languages  []string `json:"languages"`
	Currency   string   `json:"currency"`
}

func (h *handlers) getConfig(c *fiber.Ctx) error {
	langs := make([]string, len(account.Locales))
	for i, l := range account.Locales {
		langs[i] = string(l)
	}
	return c.JSON(configDTO{GatewayURL: h.gateway, Languages: langs, Currency: billing.Currency})
}
