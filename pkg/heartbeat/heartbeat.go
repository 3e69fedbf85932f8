// Package heartbeat is the routing snapshot a gateway publishes about
// itself, so that portal-api can show live capacity without importing
// gateway code: each local Ollama host's health, slots in use and queue
// depth, and whether cloud failover is on. A gateway writes it to Redis
// under a key with a short TTL (heartbeatredis) and serves it at GET
// /status on its metrics address; the portal reads either and keeps what
// is fresh.
//
// The JSON form is the contract between the two services, versioned by
// Version: a reader skips a snapshot of a version it does not know rather
// than misreading it, so a gateway and a portal of different releases
// degrade to "unknown" instead of showing wrong numbers.
package heartbeat

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Version is the snapshot format this package writes and reads.
const Version = 1

// DefaultInterval is how often a gateway publishes its heartbeat.
const DefaultInterval = 5 * time.Second

// TTLIntervals is how many intervals a published heartbeat lives: one late
// or lost write does not make a running gateway disappear, and a gateway
// that died disappears within a few intervals.
const TTLIntervals = 3

// KeySpace starts every heartbeat key, after the deployment's Redis prefix.
const KeySpace = "resayil:gateway:heartbeat:"

// Modes of Snapshot.
const (
	ModeRedis    = "redis"
	ModeEmbedded = "embedded"
)

// Snapshot is one gateway's routing state at At.
type Snapshot struct {
	Version int `json:"version"`
	// Gateway identifies the gateway process (RESAYIL_GATEWAY_ID).
	Gateway string    `json:"gateway"`
	At      time.Time `json:"at"`
	Mode    string    `json:"mode"`
	// Shared: the slot and queue counts are those of every replica sharing
	// one Redis (Redis mode), not this process's alone; a reader takes one
	// shared count rather than adding them up.
	Shared bool   `json:"shared"`
	Hosts  []Host `json:"hosts"`
	// QueueDepth is the number of requests waiting for a local slot (one
	// queue for all hosts); QueueByTier splits it by plan.
	QueueDepth  int            `json:"queue_depth"`
	QueueByTier map[string]int `json:"queue_by_tier"`
	Cloud       Cloud          `json:"cloud"`
}

// Host is one local Ollama host as the gateway's probes see it.
type Host struct {
	// URL is the host's base URL without credentials (see PublicURL).
	URL        string `json:"url"`
	Healthy    bool   `json:"healthy"`
	SlotsInUse int    `json:"slots_in_use"`
	SlotsTotal int    `json:"slots_total"`
}

// Cloud is the cloud upstream as the gateway sees it.
type Cloud struct {
	// Configured: the gateway has a cloud key.
	Configured bool `json:"configured"`
	// Healthy: its probes pass.
	Healthy bool `json:"healthy"`
	// BudgetKnown is false until today's budget was read; BudgetUsed and
	// BudgetCap are today's cloud requests and cap (Asia/Kuwait day).
	BudgetKnown bool  `json:"budget_known"`
	BudgetUsed  int64 `json:"budget_used"`
	BudgetCap   int64 `json:"budget_cap"`
	// Failover: a paid request would go to the cloud now when the local
	// queue is long (configured, healthy, and budget left).
	Failover bool `json:"failover"`
}

// FailoverOn is Cloud.Failover's rule: configured, healthy and, once the
// budget was read, with requests left today.
func FailoverOn(c Cloud) bool {
	return c.Configured && c.Healthy && (!c.BudgetKnown || c.BudgetUsed < c.BudgetCap)
}

// Key is the Redis key of gateway's heartbeat under the deployment prefix.
func Key(prefix, gateway string) string { return prefix + KeySpace + gateway }

// IndexKey is the Redis set of the gateway ids that published under the
// deployment prefix, so that a reader finds their keys without scanning
// the whole key space (a wallet key per account).
func IndexKey(prefix string) string { return prefix + "resayil:gateway:heartbeats" }

// Encode returns s as JSON with its Version set.
func Encode(s Snapshot) ([]byte, error) {
	s.Version = Version
	return json.Marshal(s)
}

// ErrVersion: the snapshot is of a format this reader does not know.
var ErrVersion = errors.New("heartbeat: unknown snapshot version")

// Decode parses a snapshot and checks it: ErrVersion for another format,
// an error for one without a gateway id or time.
func Decode(b []byte) (Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil {
		return Snapshot{}, fmt.Errorf("heartbeat: %w", err)
	}
	if s.Version != Version {
		return Snapshot{}, fmt.Errorf("%w %d (this reader knows %d)", ErrVersion, s.Version, Version)
	}
	if s.Gateway == "" || s.At.IsZero() {
		return Snapshot{}, errors.New("heartbeat: a snapshot needs a gateway id and a time")
	}
	return s, nil
}

// Fresh reports whether s was taken within maxAge of now. A snapshot dated
// up to maxAge ahead of now (a gateway whose clock runs fast) counts too.
func Fresh(s Snapshot, now time.Time, maxAge time.Duration) bool {
	age := now.Sub(s.At)
	return age <= maxAge && age >= -maxAge
}

// PublicURL returns raw without user info, query or fragment, so a host
// URL that carries credentials never leaves the gateway. A value that is
// not a URL is reduced to nothing identifying.
func PublicURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "invalid-url"
	}
	out := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return strings.TrimRight(out.String(), "/")
}
