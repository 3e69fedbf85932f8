package app

import (
	"net/url"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/config"
)

// Config is the gateway's whole configuration, read from RESAYIL_*
// variables by cmd/gateway. Defaults make the embedded mode need none.
type Config struct {
	config.Common
	Addr        string `env:"GATEWAY_ADDR" envDefault:":8080"`
	MetricsAddr string `env:"GATEWAY_METRICS_ADDR" envDefault:"127.0.0.1:9090"`
	OllamaURL   string `env:"OLLAMA_URL" envDefault:"http://127.0.0.1:11434"`
	// CloudURL is an OpenAI-compatible base URL (without /v1); empty turns
	// the cloud off.
	CloudURL    string        `env:"CLOUD_URL"`
	CloudAPIKey config.Secret `env:"CLOUD_API_KEY"`
	ModelsFile  string        `env:"MODELS_FILE" envDefault:"config/models.yaml"`
	// RestrictedModels are never listed, routed or named (invariant 4).
	RestrictedModels string        `env:"RESTRICTED_MODELS" envDefault:"glm-4.7-flash,bge-m3,nomic-embed-text"`
	MaxBodyBytes     int           `env:"MAX_BODY_BYTES" envDefault:"4194304"`
	ConnectTimeout   time.Duration `env:"UPSTREAM_CONNECT_TIMEOUT" envDefault:"5s"`
	FirstByteTimeout time.Duration `env:"UPSTREAM_FIRST_BYTE_TIMEOUT" envDefault:"120s"`
	IdleTimeout      time.Duration `env:"UPSTREAM_IDLE_TIMEOUT" envDefault:"60s"`
	HoldLease        time.Duration `env:"HOLD_LEASE" envDefault:"2m"`
	// UsageFlushInterval bounds how long usage waits in Redis before the
	// background writer stores it (Redis mode).
	UsageFlushInterval time.Duration `env:"USAGE_FLUSH_INTERVAL" envDefault:"1s"`
	KeyCacheTTL        time.Duration `env:"KEY_CACHE_TTL" envDefault:"30s"`
	// EventPollInterval is how often embedded mode polls account events.
	EventPollInterval time.Duration `env:"EVENT_POLL_INTERVAL" envDefault:"1s"`
}

// Restricted returns the restricted model names.
func (c *Config) Restricted() []string {
	var out []string
	for _, s := range strings.Split(c.RestrictedModels, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func validURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Validate checks every variable; the error names the first bad one.
func (c *Config) Validate() error {
	if err := c.Common.Validate(); err != nil {
		return err
	}
	if err := config.ValidateAddr("GATEWAY_ADDR", c.Addr); err != nil {
		return err
	}
	if c.MetricsAddr != "" {
		if err := config.ValidateAddr("GATEWAY_METRICS_ADDR", c.MetricsAddr); err != nil {
			return err
		}
	}
	if !validURL(c.OllamaURL) {
		return config.Invalid("OLLAMA_URL", "must be an absolute http(s) URL, got %q", c.OllamaURL)
	}
	if c.CloudURL != "" && !validURL(c.CloudURL) {
		return config.Invalid("CLOUD_URL", "must be an absolute http(s) URL, got %q", c.CloudURL)
	}
	if c.ModelsFile == "" {
		return config.Invalid("MODELS_FILE", "must name the model catalog file")
	}
	if c.MaxBodyBytes < 1024 {
		return config.Invalid("MAX_BODY_BYTES", "must be at least 1024, got %d", c.MaxBodyBytes)
	}
	for name, d := range map[string]time.Duration{
		"UPSTREAM_CONNECT_TIMEOUT": c.ConnectTimeout, "UPSTREAM_FIRST_BYTE_TIMEOUT": c.FirstByteTimeout,
		"UPSTREAM_IDLE_TIMEOUT": c.IdleTimeout, "HOLD_LEASE": c.HoldLease, "USAGE_FLUSH_INTERVAL": c.UsageFlushInterval,
		"KEY_CACHE_TTL": c.KeyCacheTTL, "EVENT_POLL_INTERVAL": c.EventPollInterval,
	} {
		if d <= 0 {
			return config.Invalid(name, "must be a positive duration, got %s", d)
		}
	}
	if c.HoldLease < 3*time.Second {
		return config.Invalid("HOLD_LEASE", "must be at least 3s, got %s", c.HoldLease)
	}
	return nil
}
