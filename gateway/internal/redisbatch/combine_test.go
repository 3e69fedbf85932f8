package redisbatch_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/redisbatch"
	"github.com/resayil/portal/pkg/testenv"
)

// gate holds the first hold pipelines until released and counts pipelines
// (not those go-redis sends to set up a connection).
type gate struct {
	pipelines atomic.Int32
	hold      int32
	first     chan struct{}
}

func (g *gate) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *gate) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (g *gate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if n := cmds[0].Name(); n == "hello" || n == "client" {
			return next(ctx, cmds) // a new connection's set-up
		}
		if g.pipelines.Add(1) <= g.hold {
			<-g.first
		}
		return next(ctx, cmds)
	}
}

var _ redis.Hook = (*gate)(nil)

// gated returns a Combiner with one pipeline in flight on a Redis client
// whose first pipeline is held by the returned gate until it is released.
func gated(t *testing.T) (*testenv.RedisEnv, *gate, *redisbatch.Combiner) {
	return gatedN(t, 1)
}

// gatedN is gated with inFlight pipelines in flight, the first inFlight of
// them held.
func gatedN(t *testing.T, inFlight int) (*testenv.RedisEnv, *gate, *redisbatch.Combiner) {
	env := testenv.Redis(t)
	g := &gate{first: make(chan struct{}), hold: int32(inFlight)}
	env.Client.AddHook(g)
	return env, g, redisbatch.NewCombiner(env.Client, inFlight)
}

func waitPipelines(t *testing.T, g *gate, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for g.pipelines.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d pipelines sent, want %d", g.pipelines.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitPending(t *testing.T, c *redisbatch.Combiner, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Pending() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", c.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// While one pipeline is in flight, the requests that arrive are sent
// together as the next one, and each gets exactly its own results.
func TestCombiner_QueuedRequestsShareOnePipeline(t *testing.T) {
	t.Parallel()
	env, g, c := gated(t)
	ctx := context.Background()

	type result struct {
		incr int64
		get  string
		err  error
	}
	results := make([]result, 11)
	var wg sync.WaitGroup
	request := func(i int) {
		defer wg.Done()
		var incr *redis.IntCmd
		var get *redis.StringCmd
		key := fmt.Sprintf("%scounter:%d", env.Prefix, i)
		c.Do(ctx, func(p redis.Pipeliner) {
			p.Set(ctx, key+":name", fmt.Sprint("request ", i), 0)
			incr = p.IncrBy(ctx, key, int64(i+1))
			get = p.Get(ctx, key+":name")
		})
		results[i] = result{incr: incr.Val(), get: get.Val(), err: get.Err()}
	}
	wg.Add(1)
	go request(0) // the leader: its pipeline is held by the gate
	waitPipelines(t, g, 1)
	for i := 1; i <= 10; i++ {
		wg.Add(1)
		go request(i)
	}
	waitPending(t, c, 10)
	close(g.first)
	wg.Wait()
	if n := g.pipelines.Load(); n != 2 {
		t.Fatalf("11 requests took %d pipelines, want 2 (one in flight, then the 10 queued together)", n)
	}
	for i, r := range results {
		if r.err != nil || r.incr != int64(i+1) || r.get != fmt.Sprint("request ", i) {
			t.Fatalf("request %d got %+v, want its own results (%d, %q)", i, r, i+1, fmt.Sprint("request ", i))
		}
	}
	if c.Pending() != 0 {
		t.Fatalf("%d requests left queued", c.Pending())
	}
}

// With two in flight, a second request sends its own pipeline while the
// first is in flight; only a third waits, and everyone queued behind the
// two goes together.
func TestCombiner_TwoInFlight(t *testing.T) {
	t.Parallel()
	env, g, c := gatedN(t, 2)
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]int64, 12)
	request := func(i int) {
		defer wg.Done()
		var incr *redis.IntCmd
		c.Do(ctx, func(p redis.Pipeliner) { incr = p.IncrBy(ctx, fmt.Sprintf("%sn:%d", env.Prefix, i), int64(i+1)) })
		got[i] = incr.Val()
	}
	wg.Add(2)
	go request(0)
	waitPipelines(t, g, 1)
	go request(1)
	waitPipelines(t, g, 2) // sent at once, not queued behind the first
	if c.Pending() != 0 {
		t.Fatalf("%d requests queued with a place in flight free", c.Pending())
	}
	for i := 2; i < 12; i++ {
		wg.Add(1)
		go request(i)
	}
	waitPending(t, c, 10)
	if n := g.pipelines.Load(); n != 2 {
		t.Fatalf("%d pipelines in flight, want at most 2", n)
	}
	close(g.first)
	wg.Wait()
	if n := g.pipelines.Load(); n != 3 {
		t.Fatalf("12 requests took %d pipelines, want 3 (two in flight, then the 10 queued together)", n)
	}
	for i, v := range got {
		if v != int64(i+1) {
			t.Fatalf("request %d got %d, want its own result %d", i, v, i+1)
		}
	}
}

// A command that fails fails alone; a cancelled request context does not
// cancel the pipeline it shares with others.
func TestCombiner_ErrorsStayWithTheirCommands(t *testing.T) {
	t.Parallel()
	env, g, c := gated(t)
	ctx := context.Background()
	if err := env.Client.LPush(ctx, env.Prefix+"list", "x").Err(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var bad *redis.IntCmd
	var good, afterCancel *redis.StatusCmd
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.Do(ctx, func(p redis.Pipeliner) { p.Ping(ctx) })
	}()
	waitPipelines(t, g, 1)
	wg.Add(2)
	cctx, cancel := context.WithCancel(ctx)
	go func() {
		defer wg.Done()
		// The lead of the second pipeline goes to the first queued, whose
		// context is cancelled before it is sent.
		c.Do(cctx, func(p redis.Pipeliner) {
			afterCancel = p.Set(cctx, env.Prefix+"cancelled", "sent", 0)
			bad = p.Incr(cctx, env.Prefix+"list") // WRONGTYPE
		})
	}()
	waitPending(t, c, 1)
	go func() {
		defer wg.Done()
		c.Do(ctx, func(p redis.Pipeliner) { good = p.Set(ctx, env.Prefix+"ok", "1", 0) })
	}()
	waitPending(t, c, 2)
	cancel()
	close(g.first)
	wg.Wait()
	if bad.Err() == nil {
		t.Fatal("INCR on a list succeeded")
	}
	if good.Err() != nil || afterCancel.Err() != nil {
		t.Fatalf("the other commands failed: %v, %v", good.Err(), afterCancel.Err())
	}
}

// A pipeline that cannot reach Redis fails each of its commands, and the
// combiner goes on serving.
func TestCombiner_UnreachableRedisFailsEveryCommand(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer client.Close()
	c := redisbatch.NewCombiner(client, redisbatch.InFlight)
	ctx := context.Background()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var cmd *redis.StatusCmd
			c.Do(ctx, func(p redis.Pipeliner) { cmd = p.Ping(ctx) })
			if cmd.Err() != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 20 {
		t.Fatalf("%d of 20 commands failed against an unreachable Redis, want 20", failed.Load())
	}
}
