package resayil

import (
	"errors"
	"fmt"
)

// Code is a machine-readable error class. Each code maps to one HTTP status in
// both services; the SPA translates messages by code.
type Code string

// Error codes shared by the gateway and the portal API.
const (
	EINVALID             Code = "invalid"
	EUNAUTHORIZED        Code = "unauthorized"
	EFORBIDDEN           Code = "forbidden"
	ENOTFOUND            Code = "not_found"
	ECONFLICT            Code = "conflict"
	EINSUFFICIENTCREDITS Code = "insufficient_credits"
	ERATELIMITED         Code = "rate_limited"
	EUNAVAILABLE         Code = "unavailable"
	EINTERNAL            Code = "internal"
)

// FieldError names one invalid input field and says what is wrong with it.
type FieldError struct {
	Field   string
	Message string
}

// Error is the application error. Message is a full sentence safe to show to
// a user; anything that is not an *Error is reported as EINTERNAL with a
// generic message so internal detail never reaches a client.
type Error struct {
	Code    Code
	Message string
	Fields  []FieldError
}

func (e *Error) Error() string {
	return fmt.Sprintf("resayil error: code=%s message=%s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds an EINVALID error carrying per-field messages.
func Invalid(fields ...FieldError) *Error {
	msg := "The request is invalid."
	if len(fields) == 1 {
		msg = fields[0].Message
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) Code {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err, or a generic one for
// errors that are not *Error.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	}
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error has occurred."
}

// ErrorFields returns the field errors of err, if any.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
