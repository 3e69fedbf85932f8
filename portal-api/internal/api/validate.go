package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/portal-api/internal/account"
	"github.com/resayil/portal/portal-api/internal/apikey"
)

// validate checks request DTOs. Field errors carry JSON names, one message
// per field (validator stops at a field's first failing tag). The custom
// tags call the domain's own rules so the messages match what the services
// would say. Every string field is also checked for control characters and
// direction overrides by validateStruct, whatever its tags (see textProblem).
var validate = newValidator()

func newValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	rules := map[string]func(string) string{
		"password":      account.PasswordProblem,
		"email_address": account.EmailProblem,
		"phone":         account.PhoneProblem,
		"name":          account.NameProblem,
		"key_name":      apikey.NameProblem,
		"locale":        func(s string) string { return localeProblem(s) },
		"not_blank":     func(s string) string { return blankProblem(s) },
	}
	for tag, problem := range rules {
		if err := v.RegisterValidation(tag, func(fl validator.FieldLevel) bool {
			return problem(fl.Field().String()) == ""
		}); err != nil {
			panic(err)
		}
	}
	return v
}

func localeProblem(s string) string {
	if !account.ValidLocale(resayil.Locale(s)) {
		return "Must be one of: ar, en."
	}
	return ""
}

func blankProblem(s string) string {
	if strings.TrimSpace(s) == "" {
		return "This field is required."
	}
	return ""
}

// fieldMessage is the sentence for one failed validation.
func fieldMessage(fe validator.FieldError) string {
	value, _ := fe.Value().(string)
	if p, ok := fe.Value().(*string); ok && p != nil {
		value = *p
	}
	switch fe.Tag() {
	case "required":
		return "This field is required."
	case "email":
		return "Must be a valid e-mail address."
	case "max":
		return fmt.Sprintf("Must be at most %s characters.", fe.Param())
	case "min":
		return fmt.Sprintf("Must be at least %s characters.", fe.Param())
	case "oneof":
		return fmt.Sprintf("Must be one of: %s.", strings.ReplaceAll(fe.Param(), " ", ", "))
	case "password":
		return account.PasswordProblem(value)
	case "email_address":
		return account.EmailProblem(value)
	case "phone":
		return account.PhoneProblem(value)
	case "name":
		return account.NameProblem(value)
	case "key_name":
		return apikey.NameProblem(value)
	case "locale":
		return localeProblem(value)
	case "not_blank":
		return blankProblem(value)
	}
	return "Is invalid."
}

// normalizer is a request DTO that tidies itself (trims spaces) before
// validation.
type normalizer interface{ normalize() }

// bind decodes the JSON body into dst and validates it. A body sent as
// anything but application/json is refused (415, see requireJSON); every
// route that reads a JSON body does so here. Malformed JSON, a value of
// the wrong type and failed rules all become resayil.EINVALID errors
// naming the fields.
func bind(c *fiber.Ctx, dst any) error {
	if err := requireJSON(c); err != nil {
		return err
	}
	body := bytes.TrimSpace(c.Body())
	if len(body) == 0 || body[0] != '{' {
		return resayil.Errorf(resayil.EINVALID, "The request body must be a JSON object.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return resayil.Invalid(resayil.FieldError{Field: te.Field, Message: "Must be a " + jsonType(te.Type) + "."})
		}
		return resayil.Errorf(resayil.EINVALID, "The request body is not valid JSON.")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return resayil.Errorf(resayil.EINVALID, "The request body must hold one JSON object.")
	}
	if n, ok := dst.(normalizer); ok {
		n.normalize()
	}
	return validateStruct(dst)
}

// validateStruct checks dst (a pointer to a flat request DTO) and returns
// every bad field once, in declaration order. A field's text problem comes
// before its tags' problems: it is the one that says what is wrong.
func validateStruct(dst any) error {
	rules, err := ruleProblems(dst)
	if err != nil {
		return err
	}
	byName := make(map[string]string, len(rules))
	for _, f := range rules {
		byName[f.Field] = f.Message
	}
	var fields []resayil.FieldError
	v := reflect.Indirect(reflect.ValueOf(dst))
	for i := 0; i < v.NumField(); i++ {
		sf := v.Type().Field(i)
		name := jsonName(sf)
		msg := firstNonEmpty(textProblem(sf, v.Field(i)), byName[name])
		delete(byName, name)
		if msg != "" {
			fields = append(fields, resayil.FieldError{Field: name, Message: msg})
		}
	}
	for _, f := range rules {
		if _, left := byName[f.Field]; left {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return resayil.Invalid(fields...)
}

// ruleProblems runs the validate tags.
func ruleProblems(dst any) ([]resayil.FieldError, error) {
	err := validate.Struct(dst)
	if err == nil {
		return nil, nil
	}
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) {
		return nil, fmt.Errorf("validate request: %w", err)
	}
	fields := make([]resayil.FieldError, 0, len(ves))
	for _, fe := range ves {
		fields = append(fields, resayil.FieldError{Field: fe.Field(), Message: fieldMessage(fe)})
	}
	return fields, nil
}

// textProblem applies account.TextProblem to a string field, so no text
// field of any request can carry control characters or direction
// overrides, and none can be forgotten. Fields tagged `text:"secret"`
// (passwords to compare with a stored one) are exempt: they are never
// shown, and refusing one would lock out whoever set it; new passwords are
// checked by the password rule, which includes TextProblem.
func textProblem(sf reflect.StructField, v reflect.Value) string {
	if !sf.IsExported() || sf.Tag.Get("text") == "secret" {
		return ""
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.String {
		return ""
	}
	return account.TextProblem(v.String())
}

func jsonName(sf reflect.StructField) string {
	name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
	if name == "" || name == "-" {
		return sf.Name
	}
	return name
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "list"
	}
	return "JSON object"
}
