package config_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/config"
)

type sample struct {
	config.Common
	Port    int           `env:"PORT" envDefault:"8080"`
	Token   config.Secret `env:"TOKEN"`
	Timeout time.Duration `env:"TIMEOUT" envDefault:"5s"`
}

func TestLoad_DefaultsNeedNoVariables(t *testing.T) {
	var c sample
	if err := config.Load(&c, []string{}); err != nil {
		t.Fatal(err)
	}
	if c.Env != "development" || c.DataDir != "./data" || c.Port != 8080 || c.Timeout != 5*time.Second {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if err := c.Common.Validate(); err != nil {
		t.Fatalf("defaults must validate: %v", err)
	}
	if got := c.DSN(); got != "sqlite:data/resayil.db" {
		t.Fatalf("default DSN = %q", got)
	}
	if !c.ShouldAutoMigrate() {
		t.Fatal("development auto-migrates by default")
	}
}

func TestLoad_ParseErrorNamesTheVariable(t *testing.T) {
	cases := map[string][]string{
		"RESAYIL_PORT":             {"RESAYIL_PORT=eighty"},
		"RESAYIL_TIMEOUT":          {"RESAYIL_TIMEOUT=soon"},
		"RESAYIL_SHUTDOWN_TIMEOUT": {"RESAYIL_SHUTDOWN_TIMEOUT=abc"},
	}
	for name, environ := range cases {
		var c sample
		err := config.Load(&c, environ)
		var ve *config.VarError
		if !errors.As(err, &ve) || ve.Var != name {
			t.Fatalf("%v: want a VarError naming %s, got %v", environ, name, err)
		}
		if !strings.HasPrefix(err.Error(), name+": ") {
			t.Fatalf("error line must start with the variable: %q", err)
		}
	}
}

func TestValidate_NamesTheVariable(t *testing.T) {
	cases := map[string]string{
		"RESAYIL_ENV=prod":                   "RESAYIL_ENV",
		"RESAYIL_LOG_LEVEL=loud":             "RESAYIL_LOG_LEVEL",
		"RESAYIL_PUBLIC_URL=localhost":       "RESAYIL_PUBLIC_URL",
		"RESAYIL_REDIS_URL=http://x":         "RESAYIL_REDIS_URL",
		"RESAYIL_AUTO_MIGRATE=maybe":         "RESAYIL_AUTO_MIGRATE",
		"RESAYIL_SHUTDOWN_TIMEOUT=-1s":       "RESAYIL_SHUTDOWN_TIMEOUT",
		"RESAYIL_PUBLIC_URL=ftp://host/path": "RESAYIL_PUBLIC_URL",
	}
	for kv, name := range cases {
		var c sample
		if err := config.Load(&c, []string{kv}); err != nil {
			t.Fatalf("%s: load: %v", kv, err)
		}
		err := c.Common.Validate()
		var ve *config.VarError
		if !errors.As(err, &ve) || ve.Var != name {
			t.Fatalf("%s: want error naming %s, got %v", kv, name, err)
		}
	}
}

func TestAutoMigrate_ProductionDefaultsOff(t *testing.T) {
	var c sample
	if err := config.Load(&c, []string{"RESAYIL_ENV=production"}); err != nil {
		t.Fatal(err)
	}
	if c.ShouldAutoMigrate() {
		t.Fatal("production must not auto-migrate unless asked")
	}
	c.AutoMigrate = "true"
	if !c.ShouldAutoMigrate() {
		t.Fatal("RESAYIL_AUTO_MIGRATE=true must win")
	}
}

func TestFields_RedactsSecrets(t *testing.T) {
	var c sample
	if err := config.Load(&c, []string{"RESAYIL_TOKEN=s3cret-value", "RESAYIL_DB_DSN=root:pw@tcp(db:3306)/x", "RESAYIL_REDIS_URL=redis://:pw@r:6379/0"}); err != nil {
		t.Fatal(err)
	}
	f := config.Fields(&c)
	for k, v := range f {
		for _, leak := range []string{"s3cret-value", "pw@", ":pw"} {
			if strings.Contains(v, leak) {
				t.Fatalf("%s=%s leaks %q", k, v, leak)
			}
		}
	}
	for k, want := range map[string]string{
		"RESAYIL_TOKEN": "[redacted]", "RESAYIL_DB_DSN": "[redacted]", "RESAYIL_REDIS_URL": "[redacted]",
		"RESAYIL_PORT": "8080", "RESAYIL_ENV": "development",
	} {
		if f[k] != want {
			t.Errorf("%s = %q, want %q (fields %v)", k, f[k], want, f)
		}
	}
}

// TestSecret_SlogPrintsTheRedaction logs a Secret through slog's text and
// JSON handlers, as an attribute, inside a group, through With and as
// slog.Any: every line holds the redaction and never the value. slog
// resolves the Secret (a slog.LogValuer) before any handler code sees it, so
// even a ReplaceAttr that formats the raw value (%#v, which bypasses String
// and MarshalText) sees only the redaction.
func TestSecret_SlogPrintsTheRedaction(t *testing.T) {
	const value = "s3cret-value"
	s := config.Secret(value)
	seen := func(t *testing.T) func([]string, slog.Attr) slog.Attr {
		return func(_ []string, a slog.Attr) slog.Attr {
			if a.Key != "token" {
				return a
			}
			if a.Value.Kind() != slog.KindString || a.Value.String() != "[redacted]" {
				t.Errorf("a handler sees token as %s %#v, want the string [redacted]", a.Value.Kind(), a.Value.Any())
			}
			if raw := fmt.Sprintf("%#v", a.Value.Any()); strings.Contains(raw, value) {
				t.Errorf("a handler can print the secret: %s", raw)
			}
			return a
		}
	}
	for name, newHandler := range map[string]func(*bytes.Buffer, *slog.HandlerOptions) slog.Handler{
		"text": func(b *bytes.Buffer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(b, o) },
		"json": func(b *bytes.Buffer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(b, o) },
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			log := slog.New(newHandler(&b, &slog.HandlerOptions{ReplaceAttr: seen(t)}))
			log.Info("attr", "token", s)
			log.Info("group", slog.Group("cfg", "token", s))
			log.With("token", s).Info("with")
			log.Info("any", slog.Any("token", s))
			out := b.String()
			if strings.Contains(out, value) {
				t.Fatalf("slog printed the secret:\n%s", out)
			}
			if n := strings.Count(out, "[redacted]"); n != 4 {
				t.Fatalf("want the redaction on each of 4 lines, found %d:\n%s", n, out)
			}
		})
	}
	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("empty", "token", config.Secret(""))
	if !strings.Contains(b.String(), `token=""`) {
		t.Fatalf("an empty Secret logs as empty: %s", b.String())
	}
}

func TestValidateAddr(t *testing.T) {
	for _, ok := range []string{":8080", "127.0.0.1:9090", "[::1]:80", ":0"} {
		if err := config.ValidateAddr("X", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"8080", "host", ":http", ":99999"} {
		if err := config.ValidateAddr("X", bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
