package redisbatch_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/admission"
	"github.com/resayil/portal/gateway/internal/redisbatch"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/ratelimit/ratelimitredis"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// fixedLoader is the database of a cold Redis: every account has balance
// credits in period 1.
type fixedLoader struct{ balance resayil.Credits }

func (l fixedLoader) LoadBalance(context.Context, resayil.AccountID) (walletredis.Loaded, error) {
	return walletredis.Loaded{Balance: l.balance, Period: l.balance, PeriodSeq: 1}, nil
}

// counter counts the commands and pipelines a client sends (not those
// go-redis sends to set up a connection).
type counter struct{ commands, pipelines atomic.Int32 }

func (c *counter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *counter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if n := cmd.Name(); n != "hello" && n != "client" {
			c.commands.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (c *counter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if n := cmds[0].Name(); n != "hello" && n != "client" {
			c.pipelines.Add(1)
		}
		return next(ctx, cmds)
	}
}

// TestAdmit_RefusalTravelsAsAnAlertEvent: in Redis mode a 402 costs the
// round trip every admission makes and nothing more (the reserve script
// appends the alert event itself), and 50 refusals at once put one alert
// event for the period on the account's usage stream, for the usage
// writer to record.
func TestAdmit_RefusalTravelsAsAnAlertEvent(t *testing.T) {
	ctx := context.Background()
	env := testenv.Redis(t)
	w, err := walletredis.New(env.Client, fixedLoader{balance: 3}, walletredis.Config{Prefix: env.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	c, err := catalog.Parse([]byte("models:\n  - id: m\n    class: small\n    local: m\n    max_output_tokens: 100\n    credits_per_1k_tokens: 1000\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := resayil.Plan{Code: "basic", Name: "Basic", RateLimitPerMinute: 1000, Classes: []resayil.ModelClass{resayil.ClassSmall}}
	a := &admission.Admission{
		Catalog: catalog.NewLive(c), Wallet: w, Plans: staticPlans{plan},
		Store: &redisbatch.Batch{Client: env.Client, Limiter: ratelimitredis.New(env.Client, ratelimitredis.Config{Prefix: env.Prefix}), Wallet: w},
	}
	const acct resayil.AccountID = 5
	admit := func(id string) error {
		_, _, err := a.Admit(ctx, resayil.Principal{KeyID: 1, Account: acct, Plan: plan},
			admission.Request{RequestID: id, Model: "m", PromptBytes: 10, MaxTokens: 10, N: 1})
		var r *admission.Refusal
		if !errors.As(err, &r) || r.Status != 402 {
			return fmt.Errorf("Admit(%s) = %v, want a 402", id, err)
		}
		return nil
	}
	// Load the scripts and the account (3 credits; a request needs 6).
	if _, err := w.Balance(ctx, acct); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Reserve(ctx, wallet.Hold{RequestID: "warm", Account: 99, Amount: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := ratelimitredis.New(env.Client, ratelimitredis.Config{Prefix: env.Prefix}).Allow(ctx, "warm", ratelimit.PerMinute(10)); err != nil {
		t.Fatal(err)
	}
	cnt := &counter{}
	env.Client.AddHook(cnt)
	if err := admit("first"); err != nil {
		t.Fatal(err)
	}
	if p, c := cnt.pipelines.Load(), cnt.commands.Load(); p != 1 || c != 0 {
		t.Fatalf("a refused admission sent %d pipelines and %d commands, want 1 and 0", p, c)
	}
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := admit(fmt.Sprint("flood-", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	msgs, err := env.Client.XRange(ctx, w.Keys().UsageStream(acct), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var alerts []wallet.Alert
	for _, m := range msgs {
		ev, err := walletredis.DecodeEvent(m)
		if err != nil {
			t.Fatal(err)
		}
		alerts = append(alerts, ev.Alert)
	}
	want := []wallet.Alert{{Kind: wallet.AlertExhausted, Account: acct, PeriodSeq: 1, Balance: 3}}
	if fmt.Sprint(alerts) != fmt.Sprint(want) {
		t.Fatalf("stream entries carry %+v, want %+v", alerts, want)
	}
}

type staticPlans []resayil.Plan

func (p staticPlans) All() []resayil.Plan { return p }
