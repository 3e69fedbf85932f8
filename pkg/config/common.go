package config

import (
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environments.
const (
	Development = "development"
	Production  = "production"
)

// Common holds the variables both binaries read.
type Common struct {
	Env      string `env:"ENV" envDefault:"development"`
	DataDir  string `env:"DATA_DIR" envDefault:"./data"`
	DBDSN    Secret `env:"DB_DSN"`
	RedisURL Secret `env:"REDIS_URL"`
	// RedisPrefix starts every Redis key and channel, so that several
	// deployments (or parallel tests) can share one Redis.
	RedisPrefix     string        `env:"REDIS_PREFIX"`
	PublicURL       string        `env:"PUBLIC_URL" envDefault:"http://localhost:8081"`
	LogLevel        string        `env:"LOG_LEVEL" envDefault:"info"`
	AutoMigrate     string        `env:"AUTO_MIGRATE"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"30s"`
}

// IsProduction reports whether RESAYIL_ENV is production.
func (c Common) IsProduction() bool { return c.Env == Production }

// DSN returns the database DSN, defaulting to a SQLite file in the data dir.
func (c Common) DSN() string {
	if c.DBDSN != "" {
		return c.DBDSN.Reveal()
	}
	return "sqlite:" + filepath.Join(c.DataDir, "resayil.db")
}

// ShouldAutoMigrate reports whether `serve` applies pending migrations:
// RESAYIL_AUTO_MIGRATE when set, else true in development only.
func (c Common) ShouldAutoMigrate() bool {
	if c.AutoMigrate == "" {
		return !c.IsProduction()
	}
	return c.AutoMigrate == "true" || c.AutoMigrate == "1"
}

// Validate checks the common variables.
func (c Common) Validate() error {
	if c.Env != Development && c.Env != Production {
		return Invalid("ENV", "must be development or production, got %q", c.Env)
	}
	if c.DataDir == "" {
		return Invalid("DATA_DIR", "must not be empty")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return Invalid("LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	switch c.AutoMigrate {
	case "", "true", "false", "1", "0":
	default:
		return Invalid("AUTO_MIGRATE", "must be true or false, got %q", c.AutoMigrate)
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Invalid("PUBLIC_URL", "must be an absolute http(s) URL, got %q", c.PublicURL)
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL.Reveal())
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			return Invalid("REDIS_URL", "must be a redis:// or rediss:// URL")
		}
	}
	if strings.ContainsAny(c.RedisPrefix, "{} ") {
		return Invalid("REDIS_PREFIX", "must not contain braces or spaces (braces are Redis Cluster hash tags), got %q", c.RedisPrefix)
	}
	if c.ShutdownTimeout <= 0 {
		return Invalid("SHUTDOWN_TIMEOUT", "must be a positive duration such as 30s")
	}
	return nil
}

// ValidateAddr checks a listen address such as ":8080" or "127.0.0.1:9090".
func ValidateAddr(name, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Invalid(name, "must be host:port or :port, got %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return Invalid(name, "port must be a number from 0 to 65535, got %q", port)
	}
	return nil
}
