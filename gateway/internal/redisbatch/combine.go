package redisbatch

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// Combiner sends the pipelines of concurrent requests to Redis together
// (flat combining): while pipelines are in flight, the requests that
// arrive queue their commands, and when one returns, one of them sends all
// of those as the next pipeline. At concurrency 1 nothing changes (the
// caller sends its own pipeline at once); under load, N requests cost one
// write and one read on the gateway and on Redis instead of N each, which
// on a small machine is most of what a round trip costs. Each script
// still runs atomically on its own, so nothing about credits, limits or
// slots changes; a failed pipeline fails the commands in it, each with its
// own error, exactly as a failed pipeline of one request would.
//
// Up to InFlight pipelines are in flight at a time. A request that finds
// fewer sends its own; when one returns, whoever queued meanwhile is
// handed the lead and sends the whole queue: each request sends at most
// one pipeline and never waits for more than the ones before its own.
// Why more than one: Redis runs one command at a time, so with a single
// pipeline in flight it idles while the reply travels back and the next
// pipeline is built, and under load the requests queued behind it idle the
// other cores too (measured at concurrency 32 on 2 cores: 16 % of the
// machine idle with one in flight, 12 % with two; bench/README.md).
type Combiner struct {
	client redis.UniversalClient

	max int

	mu       sync.Mutex
	inflight int
	pending  []*job
}

type job struct {
	ctx   context.Context
	queue func(redis.Pipeliner)
	// wake is signalled once: with done set when the job's commands have
	// their results, or with batch set when the job must send that batch.
	wake  chan struct{}
	batch []*job
	done  bool
}

var jobs = sync.Pool{New: func() any { return &job{wake: make(chan struct{}, 1)} }}

// InFlight is how many pipelines a Combiner has in flight at most: two
// keep Redis busy while one reply travels; more only split the batches
// (three measured no better than two).
const InFlight = 2

// NewCombiner returns a Combiner on client with up to inFlight pipelines in
// flight (InFlight when inFlight < 1).
func NewCombiner(client redis.UniversalClient, inFlight int) *Combiner {
	if inFlight < 1 {
		inFlight = InFlight
	}
	return &Combiner{client: client, max: inFlight}
}

// Do runs queue on a pipeline that is sent to Redis, alone or with other
// requests' commands, and returns once it has been executed: the commands
// queue created then hold their results (or errors). queue may run on
// another goroutine; it must only queue commands.
func (c *Combiner) Do(ctx context.Context, queue func(redis.Pipeliner)) {
	j := jobs.Get().(*job)
	j.ctx, j.queue, j.batch, j.done = ctx, queue, nil, false
	c.mu.Lock()
	if c.inflight >= c.max {
		c.pending = append(c.pending, j)
		c.mu.Unlock()
		<-j.wake
		if !j.done {
			// Handed the lead: send the queue this job heads.
			c.run(j.batch)
		}
	} else {
		c.inflight++
		c.mu.Unlock()
		c.run([]*job{j})
	}
	j.ctx, j.queue, j.batch = nil, nil, nil
	jobs.Put(j)
}

// run sends batch as one pipeline, wakes its other jobs, and hands the
// lead to the first job queued meanwhile (or gives up its place in flight).
func (c *Combiner) run(batch []*job) {
	p := c.client.Pipeline()
	for _, j := range batch {
		j.queue(p)
	}
	// The pipeline carries several requests: none of their contexts may
	// cancel it for the others (go-redis's timeouts still bound it).
	_, _ = p.Exec(context.WithoutCancel(batch[0].ctx)) // each command carries its own error
	for _, j := range batch[1:] {
		j.done = true
		j.wake <- struct{}{}
	}
	c.mu.Lock()
	next := c.pending
	if len(next) == 0 {
		c.inflight--
		c.mu.Unlock()
		return
	}
	c.pending = nil
	c.mu.Unlock()
	head := next[0]
	head.batch = next
	head.wake <- struct{}{}
}
