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

// gate holds the first pipeline until released and counts pipelines (not
// those go-redis sends to set up a connection).
type gate struct {
	pipelines atomic.Int32
	first     chan struct{}
	once      sync.Once
}

func (g *gate) DialHook(next redis.DialHook) redis.DialHook { return next }

func (g *gate) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (g *gate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if n := cmds[0].Name(); n == "hello" || n == "client" {
			return next(ctx, cmds) // a new connection's set-up
		}
		if g.pipelines.Add(1) == 1 {
			<-g.first
		}
		return next(ctx, cmds)
	}
}

var _ redis.Hook = (*gate)(nil)

// gated returns a Combiner on a Redis client whose first pipeline is held
// by the returned gate until it is released.
func gated(t *testing.T) (*testenv.RedisEnv, *gate, *redisbatch.Combiner) {
	env := testenv.Redis(t)
	g := &gate{first: make(chan struct{})}
	env.Client.AddHook(g)
	return env, g, redisbatch.NewCombiner(env.Client)
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
	deadline := time.Now().Add(10 * time.Second)
	for g.pipelines.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the first request never sent its pipeline")
		}
		time.Sleep(time.Millisecond)
	}
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
	for g.pipelines.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
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
	c := redisbatch.NewCombiner(client)
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
