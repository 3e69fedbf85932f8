package app_test

// Redis mode makes two round trips a warm request (the rate limit, the hold
// and the early slot before the upstream call; the settlement and the slot
// release after it), and concurrent requests share them (ADR 7). A go-redis
// hook on the gateway's own client records every pipeline and command; a
// request's are those whose arguments carry its billing id.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/gatewaytest"
)

// recorder keeps the arguments of every pipeline and single command; while
// holding, it holds pipelines until release is closed.
type recorder struct {
	mu        sync.Mutex
	pipelines [][]string
	commands  []string
	holding   bool
	release   chan struct{}
}

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.mu.Lock()
		r.commands = append(r.commands, fmt.Sprint(cmd.Args()...))
		r.mu.Unlock()
		return next(ctx, cmd)
	}
}

func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		args := make([]string, len(cmds))
		for i, c := range cmds {
			args[i] = fmt.Sprint(c.Args()...)
		}
		r.mu.Lock()
		r.pipelines = append(r.pipelines, args)
		hold := r.holding
		r.mu.Unlock()
		if hold {
			<-r.release
		}
		return next(ctx, cmds)
	}
}

// of counts the pipelines and single commands that carry id.
func (r *recorder) of(id string) (pipelines, commands int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pipelines {
		if strings.Contains(strings.Join(p, "\n"), id) {
			pipelines++
		}
	}
	for _, c := range r.commands {
		if strings.Contains(c, id) {
			commands++
		}
	}
	return pipelines, commands
}

// shared counts the pipelines that carry any of ids, and the most ids one
// of them carries.
func (r *recorder) shared(ids []string) (pipelines, most int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.pipelines {
		all := strings.Join(p, "\n")
		n := 0
		for _, id := range ids {
			if strings.Contains(all, id) {
				n++
			}
		}
		if n > 0 {
			pipelines++
			most = max(most, n)
		}
	}
	return pipelines, most
}

func TestRedisMode_TwoRoundTripsPerWarmRequest(t *testing.T) {
	t.Parallel()
	g := gatewaytest.Start(t, gatewaytest.Options{Redis: true})
	u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	liftRateLimit(t, g)
	g.Fund(t, u.Account, 1000)
	rec := &recorder{release: make(chan struct{})}
	g.App.Redis.AddHook(rec)
	const body = `{"model":"llama3.2:3b","max_tokens":8,"stream":%v,"messages":[{"role":"user","content":"hello fake world"}]}`
	// The first request loads the wallet from the database (cold).
	if a := postBody(t, g, u.Key, fmt.Sprintf(body, false)); a.status != 200 {
		t.Fatalf("warm-up: %s", a)
	}
	for i := range 6 {
		stream := i%2 == 1
		a := postBody(t, g, u.Key, fmt.Sprintf(body, stream))
		if a.status != 200 {
			t.Fatalf("%s", a)
		}
		id := a.header.Get("x-request-id")
		// A stream settles after its last byte: wait for the settlement
		// (its second pipeline) before counting.
		eventually(t, 5*time.Second, "the settlement of "+id, func() bool { p, _ := rec.of(id); return p >= 2 })
		if p, c := rec.of(id); p != 2 || c != 0 {
			t.Fatalf("stream=%v: %d pipelines and %d single commands, want 2 and 0", stream, p, c)
		}
	}
}

func TestRedisMode_ConcurrentRequestsSharePipelines(t *testing.T) {
	t.Parallel()
	g := gatewaytest.Start(t, gatewaytest.Options{Redis: true})
	u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	liftRateLimit(t, g)
	g.Fund(t, u.Account, 10000)
	if a := postBody(t, g, u.Key, `{"model":"llama3.2:3b","max_tokens":8,"messages":[{"role":"user","content":"warm"}]}`); a.status != 200 {
		t.Fatalf("warm-up: %s", a)
	}
	rec := &recorder{release: make(chan struct{}), holding: true}
	g.App.Redis.AddHook(rec)
	const n = 24
	answers := make(chan answer, n)
	for range n {
		go func() {
			answers <- post(t, g, u.Key, "llama3.2:3b", false)
		}()
	}
	// Every request in flight, the first pipelines held: the others queue
	// behind them in the combiner.
	eventually(t, 10*time.Second, "every request in flight", func() bool {
		return testutil.ToFloat64(g.App.Metrics.InFlight) >= n
	})
	rec.mu.Lock()
	rec.holding = false
	rec.mu.Unlock()
	close(rec.release)
	ids := make([]string, 0, n)
	for range n {
		a := <-answers
		if a.status != 200 {
			t.Fatalf("%s", a)
		}
		ids = append(ids, a.header.Get("x-request-id"))
	}
	pipelines, most := rec.shared(ids)
	if pipelines >= 2*n || most < 2 {
		t.Fatalf("%d requests used %d pipelines (at most %d requests in one); want fewer than %d, shared", n, pipelines, most, 2*n)
	}
	t.Logf("%d requests, %d pipelines, up to %d requests in one", n, pipelines, most)
}
