package server

import (
	"errors"
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/httpserver"
)

// APIError is an error in OpenAI's shape, with the HTTP status to send. All
// three official SDKs read {"error":{"message","type","param","code"}}.
type APIError struct {
	Status  int
	Message string
	Type    string
	Param   string
	Code    string
	// Headers are extra response headers (Retry-After, x-should-retry).
	Headers map[string]string
}

func (e *APIError) Error() string { return e.Message }

type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// WriteError renders err in OpenAI's shape. Anything that is not an
// *APIError is logged once with the request id and answered as a generic 500,
// so internal detail (hosts, SQL) never reaches the client.
func WriteError(c *fiber.Ctx, log *slog.Logger, err error) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		var fe *fiber.Error
		if errors.As(err, &fe) {
			ae = fromFiber(fe)
		} else {
			log.Error("internal error", "request_id", httpserver.RequestID(c), "path", c.Path(), "err", err)
			ae = &APIError{Status: fiber.StatusInternalServerError, Type: "server_error", Code: "internal_error",
				Message: "The server had an error while processing your request. Please retry."}
		}
	}
	for k, v := range ae.Headers {
		c.Set(k, v)
	}
	return c.Status(ae.Status).JSON(errorBody{Error: errorObject{
		Message: ae.Message, Type: ae.Type, Param: nullable(ae.Param), Code: nullable(ae.Code),
	}})
}

func fromFiber(fe *fiber.Error) *APIError {
	switch fe.Code {
	case fiber.StatusNotFound:
		return &APIError{Status: fe.Code, Type: "invalid_request_error", Code: "unknown_url", Message: "Unknown request URL. Please check the URL and method."}
	case fiber.StatusMethodNotAllowed:
		return &APIError{Status: fe.Code, Type: "invalid_request_error", Code: "method_not_allowed", Message: "Method not allowed for this URL."}
	case fiber.StatusRequestEntityTooLarge:
		return &APIError{Status: fe.Code, Type: "invalid_request_error", Code: "request_too_large", Message: "The request body is too large."}
	}
	t := "invalid_request_error"
	if fe.Code >= 500 {
		t = "server_error"
	}
	return &APIError{Status: fe.Code, Type: t, Message: fe.Message}
}

// ErrorHandler is the Fiber error handler of the gateway.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error { return WriteError(c, log, err) }
}
