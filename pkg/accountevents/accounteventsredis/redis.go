// Package accounteventsredis carries account events over Redis pub/sub, for
// deployments where several gateway replicas share one Redis.
//
// Channel:
//
//	<Prefix>resayil:events:account   PUBLISH payload {"kind","account","subject","at"} (JSON)
//
// Pub/sub keeps nothing: a message published while a subscriber's connection
// is down is lost for that subscriber. So every time a subscription is
// (re)established, and whenever a payload cannot be decoded, the handler
// receives accountevents.KindResync and drops its caches. A connection that
// stays silent is pinged; one that does not answer the ping within another
// interval is treated as dead (a half-open TCP connection would otherwise
// lose events unnoticed), closed and replaced.
package accounteventsredis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
)

// Channel is the pub/sub channel after Config.Prefix.
const Channel = "resayil:events:account"

// Config tunes a Bus; the zero value is ready for production.
type Config struct {
	// Prefix is prepended to Channel: a per-deployment namespace sharing one
	// Redis, or testenv's per-test prefix.
	Prefix string
	// PingInterval is how long a subscription may stay silent before it
	// pings Redis; no answer within another interval means the connection is
	// dead. Default 5s.
	PingInterval time.Duration
	// Backoff spaces reconnection attempts while Redis is unreachable.
	Backoff accountevents.Backoff
	// Logger receives connection errors; default: discarded.
	Logger *slog.Logger
}

// Bus publishes and subscribes to account events through Redis. It is safe
// for concurrent use; each Subscribe call holds one pub/sub connection.
type Bus struct {
	client  redis.UniversalClient
	channel string
	ping    time.Duration
	backoff accountevents.Backoff
	log     *slog.Logger
	now     func() time.Time
}

var (
	_ accountevents.Publisher  = (*Bus)(nil)
	_ accountevents.Subscriber = (*Bus)(nil)
)

// New returns a Bus on client (a *redis.Client, *redis.ClusterClient or
// *redis.Ring).
func New(client redis.UniversalClient, cfg Config) *Bus {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Bus{
		client: client, channel: cfg.Prefix + Channel, ping: cfg.PingInterval,
		backoff: cfg.Backoff, log: cfg.Logger, now: time.Now,
	}
}

// Channel returns the channel this Bus publishes on and listens to.
func (b *Bus) Channel() string { return b.channel }

// Publish implements accountevents.Publisher with one PUBLISH.
func (b *Bus) Publish(ctx context.Context, ev accountevents.Event) error {
	ev, err := accountevents.Normalize(ev, b.now())
	if err != nil {
		return err
	}
	payload, err := encode(ev)
	if err != nil {
		return err
	}
	if err := b.client.Publish(ctx, b.channel, payload).Err(); err != nil {
		return fmt.Errorf("accounteventsredis: publish: %w: %w",
			resayil.Errorf(resayil.EUNAVAILABLE, "Account events cannot be published right now. Please retry shortly."), err)
	}
	return nil
}

// Subscribe implements accountevents.Subscriber.
func (b *Bus) Subscribe(ctx context.Context, handle func(accountevents.Event)) error {
	if handle == nil {
		return errors.New("accounteventsredis: nil handler")
	}
	accountevents.KeepAlive(ctx, b.backoff,
		func(ctx context.Context, connected func()) error { return b.session(ctx, connected, handle) },
		func(err error, wait time.Duration) {
			b.log.Warn("account events subscription lost; reconnecting", "channel", b.channel, "err", err, "retry_in", wait)
		})
	return nil
}

// session holds one pub/sub connection until it fails or ctx ends.
func (b *Bus) session(ctx context.Context, connected func(), handle func(accountevents.Event)) error {
	ps := b.client.Subscribe(ctx, b.channel)
	defer ps.Close()
	// Closing the PubSub is the only way to interrupt a blocked read.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()

	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.ping)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if isTimeout(err) && !pinged {
				if err := ps.Ping(ctx); err != nil {
					return fmt.Errorf("ping: %w", err)
				}
				pinged = true
				continue
			}
			if isTimeout(err) {
				return fmt.Errorf("no answer to ping within %s: %w", b.ping, err)
			}
			return err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			// Sent for our SUBSCRIBE and again whenever go-redis resubscribes
			// on a fresh connection by itself: either way, from now on we hear
			// everything, and before it we may have missed something.
			if m.Kind == "subscribe" && m.Channel == b.channel {
				connected()
				handle(accountevents.Resync(b.now()))
			}
		case *redis.Message:
			ev, err := decode(m.Payload)
			if err != nil {
				// Something changed but we cannot tell what: drop everything.
				b.log.Error("undecodable account event; resyncing", "channel", b.channel, "err", err)
				ev = accountevents.Resync(b.now())
			}
			handle(ev)
		case *redis.Pong:
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// wireEvent is the JSON payload; field names are part of the contract with
// gateways running other versions.
type wireEvent struct {
	Kind    string    `json:"kind"`
	Account int64     `json:"account,omitempty"`
	Subject string    `json:"subject,omitempty"`
	At      time.Time `json:"at"`
}

func encode(ev accountevents.Event) (string, error) {
	b, err := json.Marshal(wireEvent{Kind: string(ev.Kind), Account: int64(ev.Account), Subject: ev.Subject, At: ev.At})
	if err != nil {
		return "", fmt.Errorf("accounteventsredis: encode: %w", err)
	}
	return string(b), nil
}

func decode(payload string) (accountevents.Event, error) {
	var w wireEvent
	if err := json.Unmarshal([]byte(payload), &w); err != nil {
		return accountevents.Event{}, err
	}
	if w.Kind == "" {
		return accountevents.Event{}, errors.New("event without kind")
	}
	return accountevents.Event{
		Kind: accountevents.Kind(w.Kind), Account: resayil.AccountID(w.Account),
		Subject: w.Subject, At: w.At.UTC(),
	}, nil
}
