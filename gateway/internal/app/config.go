package app

import (
	"net/url"

	"github.com/resayil/portal/pkg/config"
)

// Config is the gateway's whole configuration, read from RESAYIL_*
// variables by cmd/gateway. Defaults make the embedded mode need none.
type Config struct {
	config.Common
	Addr      string `env:"GATEWAY_ADDR" envDefault:":8080"`
	OllamaURL string `env:"OLLAMA_URL" envDefault:"http://127.0.0.1:11434"`
}

// Validate checks every variable; the error names the first bad one.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if err := config.ValidateAddr("GATEWAY_ADDR", c.Addr); err != nil {
		return err
	}
	if u, err := url.Parse(c.OllamaURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return config.Invalid("OLLAMA_URL", "must be an absolute http(s) URL, got %q", c.OllamaURL)
	}
	return nil
}
