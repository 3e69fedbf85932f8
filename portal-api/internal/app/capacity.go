package app

import (
	"strings"
	"time"

	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/portal-api/internal/capacity"
)

// CapacityConfig is where the admin console's live capacity comes from:
// the gateways' heartbeats in Redis (Redis mode) and their GET /status.
type CapacityConfig struct {
	// GatewayStatusURLs are gateways' status addresses, comma-separated.
	// Empty means, without Redis, the embedded gateway's default metrics
	// address (what `make run` starts) and, with Redis, none; "none"
	// turns them off.
	GatewayStatusURLs string `env:"GATEWAY_STATUS_URLS"`
	// GatewayStatusTimeout bounds one read of every source.
	GatewayStatusTimeout time.Duration `env:"GATEWAY_STATUS_TIMEOUT" envDefault:"1s"`
	// GatewayHeartbeatMaxAge is the oldest heartbeat shown (by the
	// portal's clock); three of the gateways' heartbeat intervals.
	GatewayHeartbeatMaxAge time.Duration `env:"GATEWAY_HEARTBEAT_MAX_AGE" envDefault:"15s"`
}

// DefaultGatewayStatusURL is the embedded gateway's /status at its
// default RESAYIL_GATEWAY_METRICS_ADDR.
const DefaultGatewayStatusURL = "http://127.0.0.1:9090/status"

// statusURLs resolves GatewayStatusURLs for the mode.
func (c *CapacityConfig) statusURLs(redisMode bool) ([]string, error) {
	v := strings.TrimSpace(c.GatewayStatusURLs)
	switch {
	case v == "none":
		return nil, nil
	case v == "" && redisMode:
		return nil, nil
	case v == "":
		v = DefaultGatewayStatusURL
	}
	return capacity.ParseURLs(v)
}

func (c *Config) validateCapacity() error {
	if _, err := c.statusURLs(c.RedisURL != ""); err != nil {
		return config.Invalid("GATEWAY_STATUS_URLS", "must be a comma-separated list of http(s) URLs such as http://127.0.0.1:9090/status, or none: %v", err)
	}
	if c.GatewayStatusTimeout <= 0 || c.GatewayStatusTimeout > 30*time.Second {
		return config.Invalid("GATEWAY_STATUS_TIMEOUT", "must be a duration from 1ms to 30s, got %s", c.GatewayStatusTimeout)
	}
	if c.GatewayHeartbeatMaxAge <= 0 {
		return config.Invalid("GATEWAY_HEARTBEAT_MAX_AGE", "must be a positive duration, got %s", c.GatewayHeartbeatMaxAge)
	}
	return nil
}

// capacityReader builds the live capacity reader of the mode.
func (a *App) capacityReader(now func() time.Time) *capacity.Reader {
	urls, _ := a.cfg.statusURLs(a.Redis != nil) // checked by Validate
	cfg := capacity.Config{
		Prefix: a.cfg.RedisPrefix, StatusURLs: urls,
		Timeout: a.cfg.GatewayStatusTimeout, MaxAge: a.cfg.GatewayHeartbeatMaxAge, Now: now, Log: a.log,
	}
	if a.Redis != nil {
		cfg.Redis = a.Redis
	}
	return capacity.New(cfg)
}
