package config_test

import (
	"errors"
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

func TestDump_RedactsSecrets(t *testing.T) {
	var c sample
	if err := config.Load(&c, []string{"RESAYIL_TOKEN=s3cret-value", "RESAYIL_DB_DSN=root:pw@tcp(db:3306)/x", "RESAYIL_REDIS_URL=redis://:pw@r:6379/0"}); err != nil {
		t.Fatal(err)
	}
	out := config.Dump(&c)
	for _, leak := range []string{"s3cret-value", "pw@", ":pw"} {
		if strings.Contains(out, leak) {
			t.Fatalf("dump leaks %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{"RESAYIL_TOKEN=[redacted]", "RESAYIL_PORT=8080", "RESAYIL_ENV=development"} {
		if !strings.Contains(out, want) {
			t.Fatalf("dump misses %q:\n%s", want, out)
		}
	}
	if f := config.Fields(&c); f["RESAYIL_TOKEN"] != "[redacted]" || f["RESAYIL_PORT"] != "8080" {
		t.Fatalf("fields: %v", f)
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
