package fakechat

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// Stats is a snapshot of a fake's counters. Only chat requests
// (POST /v1/chat/completions, POST /api/chat) are counted, so health probes
// and model listings never disturb them.
type Stats struct {
	Requests      int // chat requests received
	InFlight      int // chat requests being handled now, queued ones included
	MaxInFlight   int // the highest InFlight seen
	Running       int // holding a parallel slot now (generating, paused or in latency)
	Queued        int // waiting for a parallel slot now
	Completed     int // 200 responses written in full
	Cancelled     int // the client went away before the response was complete
	Rejected      int // answered 503 because the queue was full
	Failed        int // injected failures served (FailNext, DropNext, FailMidStream)
	Unauthorized  int // answered 401 (fakecloud only)
	TokensEmitted int // completion tokens (content pieces) written, over all requests
}

// Received is a chat request as it arrived.
type Received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

type faultKind int

const (
	faultNone faultKind = iota
	faultStatus
	faultDrop
	faultMidStream
	faultOtherShape
	faultNoUsage
)

type fault struct {
	kind    faultKind
	status  int
	message string
	after   int
}

// Controls is a fake's mutable state. All methods are safe for concurrent
// use; the public fakes embed it, so these are their test controls.
type Controls struct {
	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change of stats
	done       chan struct{} // closed by Close
	closeOnce  sync.Once
	models     modelSet
	latency    time.Duration
	chunkDelay time.Duration
	tokens     int
	parallel   int
	maxQueue   int
	waiters    []chan struct{} // queued requests, first in first out
	gate       chan struct{}   // non-nil while paused
	faults     []fault
	stats      Stats
	last       Received
}

// NewControls returns the state described by cfg (see Build).
func NewControls(cfg Config) *Controls {
	return &Controls{
		changed:    make(chan struct{}),
		done:       make(chan struct{}),
		models:     newModelSet(cfg.Models),
		latency:    cfg.Latency,
		chunkDelay: cfg.ChunkDelay,
		tokens:     cfg.Tokens,
		parallel:   cfg.Parallel,
		maxQueue:   cfg.MaxQueue,
	}
}

// notify wakes every WaitFor; c.mu must be held.
func (c *Controls) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *Controls) update(f func(s *Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.notify()
	c.mu.Unlock()
}

// SetModels replaces the installed models; none at all is allowed (then
// GET /v1/models answers "data":null, as Ollama does).
func (c *Controls) SetModels(names ...string) {
	set := newModelSet(names)
	c.mu.Lock()
	c.models = set
	c.mu.Unlock()
}

// Models returns the installed models, in order.
func (c *Controls) Models() []Model {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Model(nil), c.models...)
}

// SetLatency sets the delay before the first byte of every chat response.
func (c *Controls) SetLatency(d time.Duration) {
	c.mu.Lock()
	c.latency = d
	c.mu.Unlock()
}

// SetChunkDelay sets the delay between streamed chunks.
func (c *Controls) SetChunkDelay(d time.Duration) {
	c.mu.Lock()
	c.chunkDelay = d
	c.mu.Unlock()
}

// SetTokens sets how many completion tokens a reply has (before max_tokens).
func (c *Controls) SetTokens(n int) {
	c.mu.Lock()
	c.tokens = max(n, 0)
	c.mu.Unlock()
}

// SetParallel changes the OLLAMA_NUM_PARALLEL / OLLAMA_MAX_QUEUE emulation;
// parallel 0 removes the limit. Queued requests that now fit start at once.
func (c *Controls) SetParallel(parallel, maxQueue int) {
	c.mu.Lock()
	c.parallel, c.maxQueue = parallel, maxQueue
	c.startWaiters()
	c.notify()
	c.mu.Unlock()
}

// FailNext makes the next n chat requests fail with status before any byte
// is generated, with the body the real server would send for that status.
func (c *Controls) FailNext(n, status int) { c.FailNextWith(n, status, "") }

// FailNextWith is FailNext with a chosen error message ("" for the default).
func (c *Controls) FailNextWith(n, status int, message string) {
	c.addFaults(n, fault{kind: faultStatus, status: status, message: message})
}

// DropNext makes the next n chat requests end with the connection closed
// before the first byte of the response (the request body has been read).
func (c *Controls) DropNext(n int) { c.addFaults(n, fault{kind: faultDrop}) }

// FailMidStream makes the next n chat requests fail after `after` content
// chunks. Streams end the way the real server ends them on a generation
// error (see the public package docs); a non-streaming request, or after==0,
// gets HTTP 500 instead, since nothing had been written yet.
func (c *Controls) FailMidStream(n, after int) {
	c.addFaults(n, fault{kind: faultMidStream, after: max(after, 0)})
}

// AnswerInOtherShape makes the next n chat requests answered in the shape
// the client did not ask for: an SSE stream (with usage) to a non-streaming
// request, a JSON completion to a streaming one, as a misbehaving
// OpenAI-compatible server might.
func (c *Controls) AnswerInOtherShape(n int) { c.addFaults(n, fault{kind: faultOtherShape}) }

// OmitUsage makes the next n chat requests answered without usage: no
// "usage" member in a completion, no usage chunk in a stream.
func (c *Controls) OmitUsage(n int) { c.addFaults(n, fault{kind: faultNoUsage}) }

func (c *Controls) addFaults(n int, f fault) {
	c.mu.Lock()
	for range n {
		c.faults = append(c.faults, f)
	}
	c.mu.Unlock()
}

func (c *Controls) nextFault() fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.faults) == 0 {
		return fault{}
	}
	f := c.faults[0]
	c.faults = c.faults[1:]
	c.stats.Failed++
	c.notify()
	return f
}

// Pause holds every chat request that has a parallel slot, before its first
// byte, until Resume. Together with WaitInFlight it lets a test keep an
// exact number of requests in flight without sleeping.
func (c *Controls) Pause() {
	c.mu.Lock()
	if c.gate == nil {
		c.gate = make(chan struct{})
	}
	c.mu.Unlock()
}

// Resume releases the requests held by Pause.
func (c *Controls) Resume() {
	c.mu.Lock()
	if c.gate != nil {
		close(c.gate)
		c.gate = nil
	}
	c.mu.Unlock()
}

// Stats returns a snapshot of the counters.
func (c *Controls) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// LastRequest returns the last chat request received (zero before any).
func (c *Controls) LastRequest() Received {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.last
	r.Header = r.Header.Clone()
	r.Body = append([]byte(nil), r.Body...)
	return r
}

// LastRequestBody returns the body of the last chat request received.
func (c *Controls) LastRequestBody() []byte { return c.LastRequest().Body }

// WaitFor blocks until cond holds for the counters, or ctx ends. It is woken
// by every change of the counters, so it needs no polling.
func (c *Controls) WaitFor(ctx context.Context, cond func(Stats) bool) error {
	for {
		c.mu.Lock()
		s, ch := c.stats, c.changed
		c.mu.Unlock()
		if cond(s) {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fake: condition not reached (stats %+v): %w", s, ctx.Err())
		}
	}
}

// WaitInFlight blocks until at least n chat requests are in flight.
func (c *Controls) WaitInFlight(ctx context.Context, n int) error {
	return c.WaitFor(ctx, func(s Stats) bool { return s.InFlight >= n })
}

// Close releases every request held by the fake (paused, queued, sleeping),
// which then end without counting as cancelled. It is idempotent.
func (c *Controls) Close() {
	c.closeOnce.Do(func() { close(c.done) })
	c.Resume()
}
