package walletredis_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/wallettest"
)

func TestConformance(t *testing.T) {
	wallettest.RunConformance(t, func(t *testing.T) wallettest.Harness {
		env := testenv.Redis(t)
		clock := wallettest.NewClock()
		w, err := walletredis.New(env.Client, &durable{}, walletredis.Config{Prefix: env.Prefix, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		var next atomic.Int64
		next.Store(1000)
		return wallettest.Harness{
			Wallet:     w,
			Clock:      clock,
			NewAccount: func(*testing.T) resayil.AccountID { return resayil.AccountID(next.Add(1)) },
			UsageCount: func(t *testing.T, acct resayil.AccountID) int { return len(usageOf(t, env.Client, w, acct)) },
			Alerts:     func(t *testing.T, acct resayil.AccountID) []wallet.Alert { return alertsOf(t, env.Client, w, acct) },
		}
	})
}

// durable is an in-test Loader: the database's balances, all of whose
// grants are already applied live.
type durable struct {
	mu       sync.Mutex
	balances map[resayil.AccountID]resayil.Credits
	loads    atomic.Int64
}

// LoadBalance loads the balance as its period: the in-test database
// holds balances only.
func (d *durable) LoadBalance(_ context.Context, acct resayil.AccountID) (walletredis.Loaded, error) {
	d.loads.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	return walletredis.Loaded{Balance: d.balances[acct], Period: d.balances[acct]}, nil
}

func (d *durable) set(acct resayil.AccountID, bal resayil.Credits) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.balances == nil {
		d.balances = map[resayil.AccountID]resayil.Credits{}
	}
	d.balances[acct] = bal
}

// eventsOf reads and decodes the entries of the account's usage stream.
func eventsOf(t *testing.T, c *redis.Client, w *walletredis.Wallet, acct resayil.AccountID) []walletredis.Event {
	t.Helper()
	msgs, err := c.XRange(context.Background(), w.Keys().UsageStream(acct), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []walletredis.Event
	for _, m := range msgs {
		ev, err := walletredis.DecodeEvent(m)
		if err != nil {
			t.Fatal(err)
		}
		if (ev.Usage != nil && ev.Usage.Account == acct) || (ev.Usage == nil && ev.Alert.Account == acct) {
			out = append(out, ev)
		}
	}
	return out
}

// usageOf reads the account's usage events.
func usageOf(t *testing.T, c *redis.Client, w *walletredis.Wallet, acct resayil.AccountID) []walletredis.Usage {
	t.Helper()
	var out []walletredis.Usage
	for _, ev := range eventsOf(t, c, w, acct) {
		if ev.Usage != nil {
			out = append(out, *ev.Usage)
		}
	}
	return out
}

// alertsOf reads the alerts the account's stream entries carry.
func alertsOf(t *testing.T, c *redis.Client, w *walletredis.Wallet, acct resayil.AccountID) []wallet.Alert {
	t.Helper()
	var out []wallet.Alert
	for _, ev := range eventsOf(t, c, w, acct) {
		if ev.Alert.Kind != wallet.NoAlert {
			out = append(out, ev.Alert)
		}
	}
	return out
}

func TestKeys_OneHashTagPerAccount(t *testing.T) {
	k, err := walletredis.NewKeys("p:", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, acct := range []resayil.AccountID{1, 16, 17, 1 << 40} {
		keys := []string{k.Account(acct), k.Holds(acct), k.Leases(acct), k.Grants(acct), k.Settled(acct, "r1"), k.UsageStream(acct)}
		want := hashTag(keys[0])
		for _, key := range keys {
			if !strings.HasPrefix(key, "p:resayil:wallet:") || hashTag(key) != want {
				t.Fatalf("account %d: key %q has tag %q, want prefix p:resayil:wallet: and tag %q", acct, key, hashTag(key), want)
			}
		}
	}
	if got := len(k.Streams()); got != walletredis.DefaultShards {
		t.Fatalf("%d streams, want %d", got, walletredis.DefaultShards)
	}
	if _, err := walletredis.NewKeys("p{x}:", 0); err == nil {
		t.Fatal("a prefix with braces was accepted")
	}
}

// hashTag is the part of a key Redis Cluster hashes: the first {...}.
func hashTag(key string) string {
	i := strings.IndexByte(key, '{')
	j := strings.IndexByte(key[i+1:], '}')
	if i < 0 || j <= 0 {
		return key
	}
	return key[i+1 : i+1+j]
}

func TestRedisDown_IsUnavailable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer c.Close()
	w, err := walletredis.New(c, &durable{}, walletredis.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Reserve(context.Background(), wallet.Hold{RequestID: "r", Account: 1, Amount: 1})
	if resayil.ErrorCode(err) != resayil.EUNAVAILABLE {
		t.Fatalf("Reserve with Redis down: %v, want code %s", err, resayil.EUNAVAILABLE)
	}
}
