package server

import (
	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/gateway/internal/admission"
	"github.com/resayil/portal/pkg/catalog"
)

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string        `json:"object"`
	Data   []modelObject `json:"data"`
}

func toModelObject(m *catalog.Model) modelObject {
	return modelObject{ID: m.ID, Object: "model", Created: m.Created, OwnedBy: m.OwnedBy}
}

// Models serves GET /v1/models and GET /v1/models/{id}: exactly the models
// the key's plan may use; anything else is the same 404 (invariant 4).
type Models struct {
	Auth    Authenticator
	Catalog *catalog.Live
}

// List answers GET /v1/models.
func (h *Models) List(c *fiber.Ctx) error {
	p, err := h.Auth.Authenticate(c.UserContext(), c.Get(fiber.HeaderAuthorization))
	if err != nil {
		return storeError(err)
	}
	visible := h.Catalog.Get().Visible(p.Plan)
	out := modelList{Object: "list", Data: make([]modelObject, 0, len(visible))}
	for _, m := range visible {
		out.Data = append(out.Data, toModelObject(m))
	}
	return c.JSON(out)
}

// Get answers GET /v1/models/{id}; ids contain ':' and '/', so the
// parameter is the whole rest of the path.
func (h *Models) Get(c *fiber.Ctx) error {
	p, err := h.Auth.Authenticate(c.UserContext(), c.Get(fiber.HeaderAuthorization))
	if err != nil {
		return storeError(err)
	}
	id := string([]byte(c.Params("*")))
	m, ok := h.Catalog.Get().Lookup(id)
	if !ok || !catalog.Allowed(m, p.Plan) {
		r := admission.ModelNotFound(id)
		return &APIError{Status: r.Status, Type: r.Type, Code: r.Code, Param: r.Param, Message: r.Message}
	}
	return c.JSON(toModelObject(m))
}
