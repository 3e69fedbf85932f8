package server

import (
	"errors"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/pkg/authlog"
)

// KeyFailureLog records refused API keys; *authlog.Logger implements it.
type KeyFailureLog interface {
	Failure(kind authlog.Kind, clientIP, subject string)
}

// codeInvalidAPIKey is the code of the 401 storeError gives a key that
// keyauth refused, and of no other answer.
const codeInvalidAPIKey = "invalid_api_key"

// logKeyFailures writes an auth-failure line (kind api_key) for every
// answer that refuses a presented API key, whichever route refused it, at
// the one point every route's error passes. clientIP names the client
// (pkg/clientip, RESAYIL_TRUSTED_PROXIES).
func logKeyFailures(log KeyFailureLog, clientIP func(*fiber.Ctx) string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := c.Next()
		if err == nil {
			return nil
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != codeInvalidAPIKey {
			return err
		}
		if subject, ok := keyauth.Presented(c.Get(fiber.HeaderAuthorization)); ok {
			log.Failure(authlog.KindAPIKey, clientIP(c), subject)
		}
		return err
	}
}
