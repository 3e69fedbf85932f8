package api

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// OpenAPI is the portal API's contract (OpenAPI 3.0.3). It describes every
// route of the route table; tests fail when the two differ and validate
// every request and response they make against it.
//
//go:embed openapi.yaml
var OpenAPI []byte

func (h *handlers) openAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "application/yaml")
	return c.Send(OpenAPI)
}
