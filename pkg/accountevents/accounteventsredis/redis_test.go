package accounteventsredis_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/accountevents/accounteventsredis"
	"github.com/resayil/portal/pkg/accountevents/accounteventstest"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

var fastRetry = accountevents.Backoff{Min: 10 * time.Millisecond, Max: 200 * time.Millisecond}

func TestConformance(t *testing.T) {
	accounteventstest.RunConformance(t, func(t *testing.T) accounteventstest.Pair {
		env := testenv.Redis(t)
		// Subscriptions get their own client with a name unique to this
		// test, so Disrupt kills their connections and nobody else's.
		name := "accountevents-" + strings.Trim(strings.ReplaceAll(env.Prefix, ":", "-"), "-")
		subClient := namedClient(t, env.URL, name)
		cfg := accounteventsredis.Config{Prefix: env.Prefix, Backoff: fastRetry}
		return accounteventstest.Pair{
			Publisher:  accounteventsredis.New(env.Client, cfg),
			Subscriber: accounteventsredis.New(subClient, cfg),
			Disrupt:    func(t *testing.T) { killClients(t, env.Client, name) },
		}
	})
}

func namedClient(t *testing.T, url, name string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opt.ClientName = name
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// killClients closes, on the server side, every pub/sub connection named
// name (CLIENT KILL has no name filter, so list and kill by id).
func killClients(t *testing.T, c *redis.Client, name string) {
	t.Helper()
	ctx := context.Background()
	list, err := c.Do(ctx, "CLIENT", "LIST", "TYPE", "pubsub").Text()
	if err != nil {
		t.Fatalf("CLIENT LIST: %v", err)
	}
	killed := 0
	for _, line := range strings.Split(list, "\n") {
		var id string
		match := false
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "id="); ok {
				id = v
			}
			if f == "name="+name {
				match = true
			}
		}
		if match && id != "" {
			if err := c.Do(ctx, "CLIENT", "KILL", "ID", id).Err(); err != nil {
				t.Fatalf("CLIENT KILL ID %s: %v", id, err)
			}
			killed++
		}
	}
	if killed == 0 {
		t.Fatalf("no pub/sub connection named %s to kill:\n%s", name, list)
	}
}

func TestChannel_HasPrefix(t *testing.T) {
	b := accounteventsredis.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), accounteventsredis.Config{Prefix: "test:x:"})
	if got, want := b.Channel(), "test:x:resayil:events:account"; got != want {
		t.Fatalf("Channel() = %q, want %q", got, want)
	}
}

func TestPublish_RedisDown_IsUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1})
	defer c.Close()
	err := accounteventsredis.New(c, accounteventsredis.Config{}).Publish(context.Background(),
		accountevents.Event{Kind: accountevents.KindKeyRevoked, Account: 1})
	if resayil.ErrorCode(err) != resayil.EUNAVAILABLE {
		t.Fatalf("Publish with Redis down: %v, want code %s", err, resayil.EUNAVAILABLE)
	}
}

func TestSubscribe_RedisDown_RetriesUntilCancelled(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: closedAddr(t), MaxRetries: -1})
	defer c.Close()
	logs := make(chan string, 100)
	bus := accounteventsredis.New(c, accounteventsredis.Config{Backoff: fastRetry, Logger: slog.New(chanHandler(logs))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var calls int
	go func() { done <- bus.Subscribe(ctx, func(accountevents.Event) { calls++ }) }()
	for i := range 3 {
		select {
		case <-logs:
		case <-time.After(accounteventstest.Deadline):
			t.Fatalf("attempt %d: no reconnection attempt logged", i+1)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Subscribe returned %v, want nil", err)
		}
	case <-time.After(accounteventstest.Deadline):
		t.Fatal("Subscribe did not return after cancel")
	}
	if calls != 0 {
		t.Fatalf("handler called %d times without a connection", calls)
	}
}

func TestSubscribe_UndecodablePayloadResyncs(t *testing.T) {
	env := testenv.Redis(t)
	bus := accounteventsredis.New(env.Client, accounteventsredis.Config{Prefix: env.Prefix})
	got := make(chan accountevents.Event, 10)
	stop := run(t, bus, got)
	defer stop()
	if ev := next(t, got); ev.Kind != accountevents.KindResync {
		t.Fatalf("first event %+v, want resync", ev)
	}
	if err := env.Client.Publish(context.Background(), bus.Channel(), "not json").Err(); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, got); ev.Kind != accountevents.KindResync {
		t.Fatalf("after an undecodable payload got %+v, want resync", ev)
	}
}

// A connection that silently stops carrying data (a half-open TCP
// connection after a network partition) never returns an error; the ping
// finds it out.
func TestSubscribe_SilentConnectionIsReplaced(t *testing.T) {
	env := testenv.Redis(t)
	opt, err := redis.ParseURL(env.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, opt.Addr)
	c := redis.NewClient(&redis.Options{Addr: p.addr()})
	defer c.Close()
	sub := accounteventsredis.New(c, accounteventsredis.Config{Prefix: env.Prefix, PingInterval: 100 * time.Millisecond, Backoff: fastRetry})
	pub := accounteventsredis.New(env.Client, accounteventsredis.Config{Prefix: env.Prefix})
	got := make(chan accountevents.Event, 10)
	stop := run(t, sub, got)
	defer stop()
	if ev := next(t, got); ev.Kind != accountevents.KindResync {
		t.Fatalf("first event %+v, want resync", ev)
	}
	p.freeze()
	if ev := next(t, got); ev.Kind != accountevents.KindResync {
		t.Fatalf("after the connection went silent got %+v, want resync", ev)
	}
	if err := pub.Publish(context.Background(), accountevents.Event{Kind: accountevents.KindKeyRevoked, Account: 3, Subject: "7"}); err != nil {
		t.Fatal(err)
	}
	if ev := next(t, got); ev.Kind != accountevents.KindKeyRevoked || ev.Subject != "7" {
		t.Fatalf("got %+v, want the key_revoked event", ev)
	}
}

func run(t *testing.T, bus *accounteventsredis.Bus, got chan<- accountevents.Event) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = bus.Subscribe(ctx, func(ev accountevents.Event) { got <- ev }); close(done) }()
	return func() { cancel(); <-done }
}

func next(t *testing.T, got <-chan accountevents.Event) accountevents.Event {
	t.Helper()
	select {
	case ev := <-got:
		return ev
	case <-time.After(accounteventstest.Deadline):
		t.Fatal("no event within the deadline")
		return accountevents.Event{}
	}
}

func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

type chanHandler chan string

func (h chanHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h chanHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r.Message:
	default:
	}
	return nil
}
func (h chanHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h chanHandler) WithGroup(string) slog.Handler      { return h }
