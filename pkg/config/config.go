// Package config loads a binary's typed configuration from RESAYIL_*
// environment variables (caarlos0/env), turns parse failures into one line
// naming the variable, and lists the loaded values with secrets redacted.
// Only cmd/* programs call it: no other package reads the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Prefix starts every variable the product reads.
const Prefix = "RESAYIL_"

// Secret is a string that never prints: fmt, encoders, slog and the start-up
// log line (Fields) show it redacted. Call Reveal to use the value.
type Secret string

// String redacts the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// MarshalText redacts the value in JSON and text encoders.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// LogValue redacts the value in slog: Secret is a slog.LogValuer, so every
// handler, text or JSON, logs the redaction whatever its ReplaceAttr.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// VarError says which variable is wrong and why.
type VarError struct {
	Var    string
	Reason string
}

func (e *VarError) Error() string { return e.Var + ": " + e.Reason }

// Invalid builds a VarError for a variable name without the prefix.
func Invalid(name, format string, args ...any) error {
	return &VarError{Var: Prefix + name, Reason: fmt.Sprintf(format, args...)}
}

// Load fills cfg (a pointer to a struct with `env` tags, names without the
// prefix) from environ (os.Environ() form; nil means the process
// environment). Failures come back as a *VarError naming the variable.
func Load(cfg any, environ []string) error {
	opts := env.Options{Prefix: Prefix}
	if environ != nil {
		opts.Environment = env.ToMap(environ)
	}
	err := env.ParseWithOptions(cfg, opts)
	if err == nil {
		return nil
	}
	keys := fieldKeys(reflect.TypeOf(cfg).Elem(), "")
	var agg env.AggregateError
	if errors.As(err, &agg) && len(agg.Errors) > 0 {
		err = agg.Errors[0]
	}
	var pe env.ParseError
	if errors.As(err, &pe) {
		reason := pe.Err.Error()
		var pv env.ParseValueError
		if errors.As(pe.Err, &pv) {
			reason = pv.Err.Error()
		}
		return &VarError{Var: keys[pe.Name], Reason: "invalid value: " + reason}
	}
	var ns env.VarIsNotSetError
	if errors.As(err, &ns) {
		return &VarError{Var: ns.Key, Reason: "is required"}
	}
	var ee env.EmptyVarError
	if errors.As(err, &ee) {
		return &VarError{Var: ee.Key, Reason: "must not be empty"}
	}
	return err
}

// fieldKeys maps struct field names to their full variable names.
func fieldKeys(t reflect.Type, prefix string) map[string]string {
	out := map[string]string{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Tag.Get("env") == "" && f.Type != reflect.TypeOf(Secret("")) {
			for k, v := range fieldKeys(f.Type, prefix+f.Tag.Get("envPrefix")) {
				out[k] = v
			}
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name != "" {
			out[f.Name] = Prefix + prefix + name
		}
	}
	return out
}

// Fields returns the variables of cfg with their values, secrets redacted,
// for structured logs.
func Fields(cfg any) map[string]string {
	out := map[string]string{}
	walk(reflect.ValueOf(cfg), "", func(key string, v reflect.Value) {
		out[Prefix+key] = fmt.Sprint(v.Interface())
	})
	return out
}

func walk(v reflect.Value, prefix string, fn func(string, reflect.Value)) {
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		if name == "" && f.Type.Kind() == reflect.Struct {
			walk(fv, prefix+f.Tag.Get("envPrefix"), fn)
			continue
		}
		if name == "" {
			continue
		}
		if f.Tag.Get("redact") == "true" && fv.Kind() == reflect.String && fv.String() != "" {
			fv = reflect.ValueOf(Secret(fv.String()))
		}
		fn(prefix+name, fv)
	}
}
