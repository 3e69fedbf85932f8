// Package cloudbudgetredis is the cloudbudget.Store of deployments with
// Redis: one hash per Kuwait day, shared by every gateway replica and by
// portal-api's operator command.
//
// # Keys
//
// With P the configured prefix and D the day (2006-01-02):
//
//	P resayil:cloudbudget:day:D   hash {cap, used}; TTL Retention (40 days) from its last write
//
// Each operation is one script over one key, so it is atomic and runs in
// one Redis Cluster slot. Production Redis runs with an append-only file, so
// a restart of Redis or of a gateway does not reset the day's counter; the
// gateway's background writer also mirrors each day into the
// cloud_budget_days table for the admin pages.
package cloudbudgetredis

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/cloudbudget"
)

// Retention is how long a day's hash is kept after its last write.
const Retention = 40 * 24 * time.Hour

// Config tunes a Store.
type Config struct {
	// Prefix is prepended to every key (a deployment namespace, or
	// testenv's per-test prefix).
	Prefix string
	// DefaultCap is the cap of a day without a record
	// (RESAYIL_CLOUD_DAILY_BUDGET).
	DefaultCap int64
}

// Store is the Redis cloud budget, safe for concurrent use across
// processes.
type Store struct {
	client redis.Cmdable
	prefix string
	def    int64
}

var _ cloudbudget.Store = (*Store)(nil)

// New returns a Store on client.
func New(client redis.Cmdable, cfg Config) (*Store, error) {
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, errors.New("cloudbudgetredis: key prefix must not contain braces")
	}
	if err := cloudbudget.CheckCap(cfg.DefaultCap); err != nil {
		return nil, err
	}
	return &Store{client: client, prefix: cfg.Prefix, def: cfg.DefaultCap}, nil
}

// Key returns the hash of day.
func (s *Store) Key(day cloudbudget.Day) string {
	return s.prefix + "resayil:cloudbudget:day:" + string(day)
}

// The first write of a day freezes the default cap into the hash, so every
// replica and the operator command agree on it whatever their settings.
var takeScript = redis.NewScript(`
local cap = redis.call('HGET', KEYS[1], 'cap')
if not cap then
  cap = ARGV[1]
  redis.call('HSET', KEYS[1], 'cap', cap)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
cap = tonumber(cap)
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
if used >= cap then return {0, cap, used} end
used = redis.call('HINCRBY', KEYS[1], 'used', 1)
return {1, cap, used}
`)

var refundScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'cap', 'used')
if not v[1] then return {tonumber(ARGV[1]), 0} end
local used = tonumber(v[2] or '0')
if used > 0 then used = redis.call('HINCRBY', KEYS[1], 'used', -1) end
return {tonumber(v[1]), used}
`)

var setCapScript = redis.NewScript(`
redis.call('HSET', KEYS[1], 'cap', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {tonumber(ARGV[1]), tonumber(redis.call('HGET', KEYS[1], 'used') or '0')}
`)

var retentionMS = Retention.Milliseconds()

// Take implements cloudbudget.Store.
func (s *Store) Take(ctx context.Context, day cloudbudget.Day) (cloudbudget.State, bool, error) {
	if err := cloudbudget.CheckDay(day); err != nil {
		return cloudbudget.State{}, false, err
	}
	r, err := takeScript.Run(ctx, s.client, []string{s.Key(day)}, s.def, retentionMS).Int64Slice()
	if err != nil || len(r) != 3 {
		return cloudbudget.State{}, false, cloudbudget.Unavailable("take", orShort(err))
	}
	return cloudbudget.State{Day: day, Cap: r[1], Used: r[2]}, r[0] == 1, nil
}

// Refund implements cloudbudget.Store.
func (s *Store) Refund(ctx context.Context, day cloudbudget.Day) (cloudbudget.State, error) {
	if err := cloudbudget.CheckDay(day); err != nil {
		return cloudbudget.State{}, err
	}
	r, err := refundScript.Run(ctx, s.client, []string{s.Key(day)}, s.def).Int64Slice()
	if err != nil || len(r) != 2 {
		return cloudbudget.State{}, cloudbudget.Unavailable("refund", orShort(err))
	}
	return cloudbudget.State{Day: day, Cap: r[0], Used: r[1]}, nil
}

// Get implements cloudbudget.Store.
func (s *Store) Get(ctx context.Context, day cloudbudget.Day) (cloudbudget.State, error) {
	if err := cloudbudget.CheckDay(day); err != nil {
		return cloudbudget.State{}, err
	}
	v, err := s.client.HMGet(ctx, s.Key(day), "cap", "used").Result()
	if err != nil {
		return cloudbudget.State{}, cloudbudget.Unavailable("get", err)
	}
	st := cloudbudget.State{Day: day, Cap: s.def}
	if c, ok := v[0].(string); ok {
		if st.Cap, err = strconv.ParseInt(c, 10, 64); err != nil {
			return cloudbudget.State{}, cloudbudget.Unavailable("get", err)
		}
	}
	if u, ok := v[1].(string); ok {
		if st.Used, err = strconv.ParseInt(u, 10, 64); err != nil {
			return cloudbudget.State{}, cloudbudget.Unavailable("get", err)
		}
	}
	return st, nil
}

// SetCap implements cloudbudget.Store.
func (s *Store) SetCap(ctx context.Context, day cloudbudget.Day, limit int64) (cloudbudget.State, error) {
	if err := cloudbudget.CheckDay(day); err != nil {
		return cloudbudget.State{}, err
	}
	if err := cloudbudget.CheckCap(limit); err != nil {
		return cloudbudget.State{}, err
	}
	r, err := setCapScript.Run(ctx, s.client, []string{s.Key(day)}, limit, retentionMS).Int64Slice()
	if err != nil || len(r) != 2 {
		return cloudbudget.State{}, cloudbudget.Unavailable("set cap", orShort(err))
	}
	return cloudbudget.State{Day: day, Cap: r[0], Used: r[1]}, nil
}

func orShort(err error) error {
	if err != nil {
		return err
	}
	return errors.New("short script reply")
}
