package walletredis_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
	"github.com/resayil/portal/pkg/wallet/wallettest"
)

// pipelined is the wallet as the gateway drives it in Redis mode: Reserve
// and Settle queued on a pipeline (with another command beside them, as
// the rate limit or the slot release would be) and read after Exec.
type pipelined struct {
	*walletredis.Wallet
	client *redis.Client
}

func (p pipelined) Reserve(ctx context.Context, h wallet.Hold) (resayil.Credits, error) {
	pipe := p.client.Pipeline()
	ping := pipe.Ping(ctx)
	c := p.QueueReserve(ctx, pipe, h)
	_, _ = pipe.Exec(ctx)
	if ping.Err() != nil {
		return 0, ping.Err()
	}
	return c.Result(ctx)
}

func (p pipelined) Settle(ctx context.Context, s wallet.Settlement) (wallet.SettleResult, error) {
	pipe := p.client.Pipeline()
	c := p.QueueSettle(ctx, pipe, s)
	ping := pipe.Ping(ctx)
	_, _ = pipe.Exec(ctx)
	if ping.Err() != nil {
		return wallet.SettleResult{}, ping.Err()
	}
	return c.Result(ctx)
}

// TestConformance_Pipelined holds QueueReserve and QueueSettle to the whole
// wallet contract, concurrency and cold loads included.
func TestConformance_Pipelined(t *testing.T) {
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
			Wallet:     pipelined{Wallet: w, client: env.Client},
			Clock:      clock,
			NewAccount: func(*testing.T) resayil.AccountID { return resayil.AccountID(next.Add(1)) },
			UsageCount: func(t *testing.T, acct resayil.AccountID) int { return len(usageOf(t, env.Client, w, acct)) },
			Alerts:     func(t *testing.T, acct resayil.AccountID) []wallet.Alert { return alertsOf(t, env.Client, w, acct) },
		}
	})
}

// TestPipelined_ColdAccountAndLostScripts: a pipelined Reserve on an
// account Redis does not know loads its balance, and one sent after Redis
// lost its script cache still runs (EVAL).
func TestPipelined_ColdAccountAndLostScripts(t *testing.T) {
	ctx := context.Background()
	env := testenv.Redis(t)
	d := &durable{}
	d.set(7, 100)
	w, err := walletredis.New(env.Client, d, walletredis.Config{Prefix: env.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	p := pipelined{Wallet: w, client: env.Client}
	if got, err := p.Reserve(ctx, wallet.Hold{RequestID: "r1", Account: 7, Amount: 30, MinAmount: 1}); err != nil || got != 30 {
		t.Fatalf("cold Reserve = %d, %v; want 30", got, err)
	}
	if d.loads.Load() != 1 {
		t.Fatalf("loads = %d, want 1", d.loads.Load())
	}
	if err := env.Client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	sr, err := p.Settle(ctx, wallet.Settlement{RequestID: "r1", Account: 7, Cost: 12,
		Usage: wallet.Usage{Model: "m", Backend: "local", Status: "ok", TotalTokens: 12}})
	if err != nil || sr.Charged != 12 || sr.Balance != 88 {
		t.Fatalf("Settle after SCRIPT FLUSH = %+v, %v; want 12 charged, 88 left", sr, err)
	}
	if _, err := p.Reserve(ctx, wallet.Hold{RequestID: "r2", Account: 7, Amount: 500, MinAmount: 100}); resayil.ErrorCode(err) != resayil.EINSUFFICIENTCREDITS {
		t.Fatalf("Reserve over the balance: %v, want insufficient credits", err)
	}
}
