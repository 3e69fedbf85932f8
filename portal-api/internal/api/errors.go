package api

import (
	"errors"
	"log/slog"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/billing"
)

// errorBody is the portal's one error shape:
// {"error":{"code","message","fields":[{"field","message"}]}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []fieldError `json:"fields,omitempty"`
	// Details carries what an error knows besides its message, e.g. the
	// credits available when a debit is refused.
	Details map[string]any `json:"details,omitempty"`
}

// detailer is an error that carries details for the client.
type detailer interface {
	ErrorDetails() map[string]any
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// codeUnsupportedMediaType answers a body that is not JSON (415).
const codeUnsupportedMediaType resayil.Code = "unsupported_media_type"

var statusByCode = map[resayil.Code]int{
	codeUnsupportedMediaType:     fiber.StatusUnsupportedMediaType,
	resayil.EINVALID:             fiber.StatusBadRequest,
	resayil.EUNAUTHORIZED:        fiber.StatusUnauthorized,
	resayil.EFORBIDDEN:           fiber.StatusForbidden,
	resayil.ENOTFOUND:            fiber.StatusNotFound,
	resayil.ECONFLICT:            fiber.StatusConflict,
	resayil.EINSUFFICIENTCREDITS: fiber.StatusPaymentRequired,
	resayil.ERATELIMITED:         fiber.StatusTooManyRequests,
	resayil.EUNAVAILABLE:         fiber.StatusServiceUnavailable,
	resayil.EINTERNAL:            fiber.StatusInternalServerError,
}

// ErrorHandler renders every error in the portal shape and logs internal
// ones once, with the request id; internal detail never reaches the client.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var fe *fiber.Error
		if errors.As(err, &fe) {
			code := resayil.EINVALID
			switch fe.Code {
			case fiber.StatusNotFound:
				code = resayil.ENOTFOUND
			case fiber.StatusMethodNotAllowed:
				code = "method_not_allowed"
			case fiber.StatusRequestEntityTooLarge:
				code = "too_large"
			case fiber.StatusTooManyRequests:
				code = resayil.ERATELIMITED
			case fiber.StatusUnsupportedMediaType:
				code = codeUnsupportedMediaType
			}
			if fe.Code >= 500 {
				code = resayil.EINTERNAL
			}
			return c.Status(fe.Code).JSON(errorBody{Error: errorDetail{Code: string(code), Message: fe.Message}})
		}
		var ra retryAfter
		if errors.As(err, &ra) {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(ra.RetryAfter().Seconds())))
		}
		code := resayil.ErrorCode(err)
		status, ok := statusByCode[code]
		if !ok {
			status = fiber.StatusBadRequest
		}
		var pe *billing.ProviderError
		if errors.As(err, &pe) {
			// MyFatoorah, not we, is unavailable or refusing: 502.
			status = fiber.StatusBadGateway
			log.Warn("payment provider error", "request_id", httpserver.RequestID(c), "method", c.Method(), "path", c.Path(), "err", err)
		}
		if code == resayil.EINTERNAL {
			log.Error("internal error", "request_id", httpserver.RequestID(c), "method", c.Method(), "path", c.Path(), "err", err)
		}
		body := errorBody{Error: errorDetail{Code: string(code), Message: resayil.ErrorMessage(err)}}
		for _, f := range resayil.ErrorFields(err) {
			body.Error.Fields = append(body.Error.Fields, fieldError{Field: f.Field, Message: f.Message})
		}
		var d detailer
		if errors.As(err, &d) {
			body.Error.Details = d.ErrorDetails()
		}
		return c.Status(status).JSON(body)
	}
}

// retryAfter is an error that says when to try again (a throttled login);
// the handler turns it into a Retry-After header in whole seconds.
type retryAfter interface {
	error
	RetryAfter() time.Duration
}
