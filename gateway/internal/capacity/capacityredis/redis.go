// Package capacityredis is the capacity.Store of deployments with Redis:
// the slots of every local host and the one wait queue, shared by all
// gateway replicas, each operation one Lua script (lua.go says why).
//
// # Keys
//
// With P the configured prefix and H a host id (its URL), all in the hash
// tag {capacity} so that every script runs in one Cluster slot:
//
//	P resayil:capacity:{capacity}:queue     zset id → rank (arrival µs − priority × aging)
//	P resayil:capacity:{capacity}:waiters   hash id → "priority|host\nhost…"
//	P resayil:capacity:{capacity}:places    zset id → place lease expiry (Unix ms)
//	P resayil:capacity:{capacity}:granted   hash id → host, granted but not yet picked up
//	P resayil:capacity:{capacity}:slots:H   zset id → slot lease expiry (Unix ms)
//	P resayil:capacity:{capacity}:wake      pub/sub channel of grants, "id\nhost" joined by tabs
//
// Every key gets a TTL of a few slot leases whenever a call adds to it, so
// an idle deployment leaves nothing behind. Lease expiries use the gateways'
// clocks, which must agree within a fraction of the lease (NTP).
package capacityredis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/pkg/resayil"
)

// Defaults of Config.
const (
	DefaultSlotLease = 30 * time.Second
	DefaultWaitLease = 5 * time.Second
)

// Config tunes a Store.
type Config struct {
	// Prefix is prepended to every key (no braces).
	Prefix string
	// SlotLease is the lease of a slot, renewed by its holder's Pool.
	SlotLease time.Duration
	// WaitLease is the lease of a queue place, renewed at each poll.
	WaitLease time.Duration
	// Now is the lease clock; nil means time.Now.
	Now func() time.Time
}

// Store is the Redis capacity store, safe for concurrent use across
// processes.
type Store struct {
	client  redis.UniversalClient
	base    string
	keys    [4]string
	channel string
	now     func() time.Time
	args    [5]any
	// direct holds the ids this process saw enter straight into a slot
	// (Granted by enter) and not leave yet: never queued, so no grant of
	// theirs can wait in the granted hash, and their leave skips its HDEL
	// (one Redis call of a request; inside a benchmark run each costs
	// Redis several microseconds). Any other outcome of an id's enter or
	// poll, an error included, drops it: the leave then does the HDEL.
	direct sync.Map
}

// entered records how an enter of id ended (see Store.direct).
func (s *Store) entered(id string, out capacity.Outcome, err error) {
	if err == nil && out.Result == capacity.Granted {
		s.direct.Store(id, struct{}{})
		return
	}
	s.direct.Delete(id)
}

// leaveArgs are leave's arguments after the hosts: id, and "direct" when
// this process saw id enter straight into its slot.
func (s *Store) leaveArgs(id string) []any {
	if _, ok := s.direct.LoadAndDelete(id); ok {
		return []any{id, "direct"}
	}
	return []any{id}
}

var _ capacity.Store = (*Store)(nil)

// New returns a Store on client.
func New(client redis.UniversalClient, cfg Config) (*Store, error) {
	if strings.ContainsAny(cfg.Prefix, "{}") {
		return nil, fmt.Errorf("capacityredis: key prefix %q must not contain braces", cfg.Prefix)
	}
	if cfg.SlotLease <= 0 {
		cfg.SlotLease = DefaultSlotLease
	}
	if cfg.WaitLease <= 0 {
		cfg.WaitLease = DefaultWaitLease
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	base := cfg.Prefix + "resayil:capacity:{capacity}:"
	s := &Store{client: client, base: base, channel: base + "wake", now: cfg.Now,
		keys: [4]string{base + "queue", base + "waiters", base + "places", base + "granted"}}
	ttl := 4 * max(cfg.SlotLease, cfg.WaitLease)
	s.args = [5]any{cfg.SlotLease.Milliseconds(), cfg.WaitLease.Milliseconds(), ttl.Milliseconds(), s.channel, 0}
	return s, nil
}

// SlotsKey returns the slots zset of a host.
func (s *Store) SlotsKey(host string) string { return s.base + "slots:" + host }

// Channel is the wake-up channel.
func (s *Store) Channel() string { return s.channel }

func (s *Store) run(ctx context.Context, op string, hosts []capacity.Host, extra ...any) ([]any, error) {
	keys, args := s.call(op, hosts, extra...)
	r, err := script.Run(ctx, s.client, keys, args...).Slice()
	return reply(op, r, err)
}

// call returns the script's keys and arguments for op.
func (s *Store) call(op string, hosts []capacity.Host, extra ...any) ([]string, []any) {
	keys := make([]string, 0, 4+len(hosts))
	keys = append(keys, s.keys[:]...)
	args := make([]any, 0, 7+2*len(hosts)+len(extra))
	args = append(args, op, s.now().UnixMilli(), s.args[0], s.args[1], s.args[2], s.args[3], len(hosts))
	for _, h := range hosts {
		keys = append(keys, s.SlotsKey(h.ID))
		args = append(args, h.ID, max(h.Slots, 0))
	}
	return keys, append(args, extra...)
}

func reply(op string, r []any, err error) ([]any, error) {
	if err != nil {
		return nil, unavailable(op, err)
	}
	if len(r) < 4 {
		return nil, unavailable(op, fmt.Errorf("short reply %v", r))
	}
	return r, nil
}

func unavailable(op string, err error) error {
	return fmt.Errorf("capacityredis: %s: %w: %w", op,
		resayil.Errorf(resayil.EUNAVAILABLE, "Model capacity is temporarily unavailable. Please retry shortly."), err)
}

// outcome decodes {result, host, waiting, n, grants...} and returns the
// rest of the reply.
func outcome(r []any) (capacity.Outcome, []any) {
	res, _ := r[0].(int64)
	host, _ := r[1].(string)
	waiting, _ := r[2].(int64)
	n, _ := r[3].(int64)
	out := capacity.Outcome{Result: capacity.Result(res), Host: host, Waiting: int(waiting)}
	i := 4
	for ; i < 4+int(n) && i < len(r); i++ {
		g, _ := r[i].(string)
		if id, h, ok := strings.Cut(g, "\n"); ok {
			out.Woken = append(out.Woken, capacity.Grant{ID: id, Host: h})
		}
	}
	return out, r[i:]
}

func modeArg(m capacity.Mode) string {
	switch m {
	case capacity.QueueUpTo:
		return "upto"
	case capacity.NoWait:
		return "nowait"
	}
	return "queue"
}

// Enter implements capacity.Store.
func (s *Store) Enter(ctx context.Context, hosts []capacity.Host, e capacity.Entry) (capacity.Outcome, error) {
	r, err := s.run(ctx, "enter", hosts, enterArgs(e)...)
	if err != nil {
		s.entered(e.ID, capacity.Outcome{}, err)
		return capacity.Outcome{}, err
	}
	out, _ := outcome(r)
	s.entered(e.ID, out, nil)
	return out, nil
}

// Poll implements capacity.Store.
func (s *Store) Poll(ctx context.Context, hosts []capacity.Host, id string) (capacity.Outcome, error) {
	s.direct.Delete(id) // a poller was queued
	r, err := s.run(ctx, "poll", hosts, id)
	if err != nil {
		return capacity.Outcome{}, err
	}
	out, _ := outcome(r)
	return out, nil
}

// Leave implements capacity.Store.
func (s *Store) Leave(ctx context.Context, hosts []capacity.Host, id string) (capacity.Outcome, error) {
	r, err := s.run(ctx, "leave", hosts, s.leaveArgs(id)...)
	if err != nil {
		return capacity.Outcome{}, err
	}
	out, _ := outcome(r)
	return out, nil
}

// Renew implements capacity.Store.
func (s *Store) Renew(ctx context.Context, hosts []capacity.Host, held []capacity.Held) ([]string, error) {
	extra := make([]any, 0, 2*len(held))
	for _, h := range held {
		extra = append(extra, h.ID, h.Host)
	}
	r, err := s.run(ctx, "renew", hosts, extra...)
	if err != nil {
		return nil, err
	}
	_, rest := outcome(r)
	lost := make([]string, 0, len(rest))
	for _, x := range rest {
		if id, ok := x.(string); ok {
			lost = append(lost, id)
		}
	}
	return lost, nil
}

// Stats implements capacity.Store.
func (s *Store) Stats(ctx context.Context, hosts []capacity.Host) (capacity.Stats, error) {
	r, err := s.run(ctx, "stats", hosts)
	if err != nil {
		return capacity.Stats{}, err
	}
	_, rest := outcome(r)
	st := capacity.Stats{InFlight: make(map[string]int, len(hosts)), Waiting: map[int]int{}}
	for i, x := range rest {
		v, _ := x.(string)
		if i < len(hosts) {
			st.InFlight[hosts[i].ID], _ = strconv.Atoi(v)
			continue
		}
		if p, c, ok := strings.Cut(v, "="); ok {
			pi, err1 := strconv.Atoi(p)
			ci, err2 := strconv.Atoi(c)
			if err1 == nil && err2 == nil {
				st.Waiting[pi] = ci
			}
		}
	}
	return st, nil
}

// Wakeups implements capacity.Store through the wake-up channel. go-redis
// resubscribes after a dropped connection; grants published meanwhile are
// lost for this process, and its waiters find them at their next poll.
func (s *Store) Wakeups(ctx context.Context, fn func(capacity.Grant)) error {
	ps := s.client.Subscribe(ctx, s.channel)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return unavailable("subscribe", err)
	}
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-ch:
			if !ok {
				return nil
			}
			for g := range strings.SplitSeq(m.Payload, "\t") {
				if id, host, ok := strings.Cut(g, "\n"); ok {
					fn(capacity.Grant{ID: id, Host: host})
				}
			}
		}
	}
}
