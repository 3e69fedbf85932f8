package api

import (
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/resayil"
)

// hstsValue asks browsers to use https only, for a year. No
// includeSubDomains: the portal does not own its sibling hosts' choices.
const hstsValue = "max-age=31536000"

// securityHeaders are the headers every portal answer carries: success,
// error (the error handler sets them again, since fasthttp's own errors,
// such as a body over the limit, never reach middleware), redirect and
// CORS preflight.
type securityHeaders struct {
	// hsts is set when RESAYIL_PUBLIC_URL is https: over plain http (the
	// development default) the header would be ignored, and on localhost it
	// would stick to every other local service.
	hsts bool
	// csp is the Content-Security-Policy's directives. The JSON API needs
	// only frame-ancestors (no page of ours may be framed); the SPA, once
	// served from the static dir, adds its own (default-src, script-src…).
	csp []string
}

func newSecurityHeaders(hsts bool) securityHeaders {
	return securityHeaders{hsts: hsts, csp: []string{"frame-ancestors 'none'"}}
}

// set writes the headers on c's response. Cache-Control is no-store on
// every answer, not only the authenticated ones: login and refresh carry
// tokens without being authenticated routes, error answers must not be
// cached either, and one rule cannot be forgotten by a new route. A
// handler that serves something cacheable (the SPA's assets, later) sets
// its own Cache-Control after this.
func (s securityHeaders) set(c *fiber.Ctx) {
	h := &c.Response().Header
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	h.Set(fiber.HeaderContentSecurityPolicy, strings.Join(s.csp, "; "))
	h.Set(fiber.HeaderReferrerPolicy, "strict-origin-when-cross-origin")
	if s.hsts {
		h.Set(fiber.HeaderStrictTransportSecurity, hstsValue)
	}
	h.Set(fiber.HeaderCacheControl, "no-store")
}

// middleware sets the headers before anything else runs, so that every
// answer has them, whatever happens after.
func (s securityHeaders) middleware(c *fiber.Ctx) error {
	s.set(c)
	return c.Next()
}

// errorHandler sets the headers, then renders the error with next.
func (s securityHeaders) errorHandler(next fiber.ErrorHandler) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		s.set(c)
		return next(c, err)
	}
}

var errNotJSON = resayil.Errorf(codeUnsupportedMediaType,
	"The request body must be JSON, sent with Content-Type: application/json.")

// requireJSON refuses a body that is not declared as JSON. A cross-site
// HTML form can post text/plain (or a form encoding) without a CORS
// preflight, but not application/json; refusing anything else keeps such
// forms off every JSON route. A request without a body passes (bind then
// says what is missing).
func requireJSON(c *fiber.Ctx) error {
	if len(c.Body()) == 0 {
		return nil
	}
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return errNotJSON
	}
	return nil
}
