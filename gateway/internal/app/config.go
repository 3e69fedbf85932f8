package app

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/clientip"
	"github.com/resayil/portal/pkg/config"
)

// Config is the gateway's whole configuration, read from RESAYIL_*
// variables by cmd/gateway. Defaults make the embedded mode need none.
type Config struct {
	config.Common
	Addr        string `env:"GATEWAY_ADDR" envDefault:":8080"`
	MetricsAddr string `env:"GATEWAY_METRICS_ADDR" envDefault:"127.0.0.1:9090"`
	// OllamaURL is the one local host when OllamaURLs is empty.
	OllamaURL string `env:"OLLAMA_URL" envDefault:"http://127.0.0.1:11434"`
	// OllamaURLs lists the local hosts, comma-separated, each with its
	// parallel slots after a bar (its OLLAMA_NUM_PARALLEL; default 1):
	// "http://gpu1:11434|4,http://gpu2:11434|2". It supersedes OllamaURL.
	OllamaURLs string `env:"OLLAMA_URLS"`
	// CloudURL is an OpenAI-compatible base URL (without /v1); the cloud is
	// on only with a CloudAPIKey.
	CloudURL    string        `env:"CLOUD_URL" envDefault:"https://ollama.com"`
	CloudAPIKey config.Secret `env:"CLOUD_API_KEY"`
	// LocalQueueThreshold: with more requests than this waiting for a
	// local slot, plans with the cloud go there instead of waiting.
	LocalQueueThreshold int `env:"LOCAL_QUEUE_THRESHOLD" envDefault:"3"`
	// LocalQueueMax bounds the local queue; beyond it a request gets 503
	// server_busy at once.
	LocalQueueMax int `env:"LOCAL_QUEUE_MAX" envDefault:"256"`
	// QueueTimeout bounds a request's wait for a local slot.
	QueueTimeout time.Duration `env:"QUEUE_TIMEOUT" envDefault:"30s"`
	// QueueAging is the wait worth one priority level (so nobody starves).
	QueueAging time.Duration `env:"QUEUE_AGING" envDefault:"10s"`
	// CloudDailyBudget is the default cap of cloud requests per Kuwait day.
	CloudDailyBudget int64 `env:"CLOUD_DAILY_BUDGET" envDefault:"500"`
	// HealthInterval spaces the probes of the local hosts and the cloud.
	HealthInterval time.Duration `env:"UPSTREAM_HEALTH_INTERVAL" envDefault:"5s"`
	ModelsFile     string        `env:"MODELS_FILE" envDefault:"config/models.yaml"`
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
	// GatewayID names this process in its heartbeat (default: the host
	// name and a random suffix).
	GatewayID string `env:"GATEWAY_ID"`
	// HeartbeatInterval spaces the Redis heartbeats the admin console
	// reads; each lives three intervals.
	HeartbeatInterval time.Duration `env:"GATEWAY_HEARTBEAT_INTERVAL" envDefault:"5s"`
	// TrustedProxies lists the reverse proxies (IPs or CIDRs) whose
	// X-Forwarded-For names the client, as portal-api reads it
	// (pkg/clientip); the client's address is what the auth-failure log
	// records and fail2ban bans.
	TrustedProxies string `env:"TRUSTED_PROXIES"`
	// AuthFailureLog is the file that gets a line per refused API key
	// (pkg/authlog), for fail2ban; empty writes none.
	AuthFailureLog string `env:"AUTH_FAILURE_LOG"`
}

// ProxyPrefixes parses TrustedProxies.
func (c *Config) ProxyPrefixes() ([]netip.Prefix, error) {
	out, err := clientip.ParseTrusted(c.TrustedProxies)
	if err != nil {
		return nil, config.Invalid("TRUSTED_PROXIES", "%v", err)
	}
	return out, nil
}

// LocalHost is one local Ollama host and its parallel slots.
type LocalHost struct {
	URL   string
	Slots int
}

// MaxSlots bounds one host's slots.
const MaxSlots = 1024

// LocalHosts parses OLLAMA_URLS, or returns OLLAMA_URL with one slot.
func (c *Config) LocalHosts() ([]LocalHost, error) {
	if strings.TrimSpace(c.OllamaURLs) == "" {
		if !validURL(c.OllamaURL) {
			return nil, config.Invalid("OLLAMA_URL", "must be an absolute http(s) URL, got %q", c.OllamaURL)
		}
		return []LocalHost{{URL: strings.TrimRight(c.OllamaURL, "/"), Slots: 1}}, nil
	}
	var out []LocalHost
	seen := map[string]bool{}
	for _, item := range strings.Split(c.OllamaURLs, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		u, n, hasSlots := strings.Cut(item, "|")
		h := LocalHost{URL: strings.TrimRight(strings.TrimSpace(u), "/"), Slots: 1}
		if hasSlots {
			v, err := strconv.Atoi(strings.TrimSpace(n))
			if err != nil || v < 1 || v > MaxSlots {
				return nil, config.Invalid("OLLAMA_URLS", "slots after | must be a whole number from 1 to %d, got %q in %q", MaxSlots, n, item)
			}
			h.Slots = v
		}
		if !validURL(h.URL) || strings.ContainsAny(h.URL, "{}|\n") {
			return nil, config.Invalid("OLLAMA_URLS", "each host must be an absolute http(s) URL such as http://gpu1:11434|4, got %q", item)
		}
		if seen[h.URL] {
			return nil, config.Invalid("OLLAMA_URLS", "host %q is listed twice", h.URL)
		}
		seen[h.URL] = true
		out = append(out, h)
	}
	if len(out) == 0 {
		return nil, config.Invalid("OLLAMA_URLS", "lists no host")
	}
	return out, nil
}

// CloudEnabled reports whether a cloud backend is configured.
func (c *Config) CloudEnabled() bool { return c.CloudAPIKey != "" }

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
	if _, err := c.LocalHosts(); err != nil {
		return err
	}
	if c.CloudEnabled() && !validURL(c.CloudURL) {
		return config.Invalid("CLOUD_URL", "must be an absolute http(s) URL, got %q", c.CloudURL)
	}
	if c.LocalQueueThreshold < 0 {
		return config.Invalid("LOCAL_QUEUE_THRESHOLD", "must not be negative, got %d", c.LocalQueueThreshold)
	}
	if c.LocalQueueMax < 1 {
		return config.Invalid("LOCAL_QUEUE_MAX", "must be at least 1, got %d", c.LocalQueueMax)
	}
	if c.CloudDailyBudget < 0 || c.CloudDailyBudget > 1_000_000_000 {
		return config.Invalid("CLOUD_DAILY_BUDGET", "must be a whole number from 0 to 1000000000, got %d", c.CloudDailyBudget)
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
		"QUEUE_TIMEOUT": c.QueueTimeout, "QUEUE_AGING": c.QueueAging, "UPSTREAM_HEALTH_INTERVAL": c.HealthInterval,
		"GATEWAY_HEARTBEAT_INTERVAL": c.HeartbeatInterval,
	} {
		if d <= 0 {
			return config.Invalid(name, "must be a positive duration, got %s", d)
		}
	}
	if strings.ContainsAny(c.GatewayID, "*?[]{} \t\n") || len(c.GatewayID) > 100 {
		return config.Invalid("GATEWAY_ID", "must be at most 100 characters without spaces, braces or *?[], got %q", c.GatewayID)
	}
	if _, err := c.ProxyPrefixes(); err != nil {
		return err
	}
	if c.HoldLease < 3*time.Second {
		return config.Invalid("HOLD_LEASE", "must be at least 3s, got %s", c.HoldLease)
	}
	return nil
}
