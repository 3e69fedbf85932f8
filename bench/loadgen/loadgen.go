// Package loadgen is the benchmark's load generator: a fixed number of
// workers, each sending one request at a time over its own keep-alive
// connection for a fixed duration (and at most a fixed number of requests),
// recording every request's latency and, for SSE answers, its time to the
// first body byte. It only talks to loopback addresses.
package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Config describes one run.
type Config struct {
	// URL is the full endpoint, e.g. http://127.0.0.1:8080/v1/chat/completions.
	URL string
	// Body is POSTed as application/json.
	Body []byte
	// Header is added to every request (Authorization).
	Header map[string]string
	// Stream says the answer is SSE: TTFB is recorded and the body must end
	// with "data: [DONE]".
	Stream bool
	// Concurrency is the number of workers, each with one connection.
	Concurrency int
	// Warmup runs the same load unrecorded first (connections, caches).
	Warmup time.Duration
	// Duration is the measured window.
	Duration time.Duration
	// MaxRequests bounds the measured requests (0: Duration alone).
	MaxRequests int
	// Timeout bounds one request (default 30 s).
	Timeout time.Duration
	// RequireHeader, when set, names a response header every answer must
	// carry (the gateway's x-resayil-credits-charged proves each request
	// was settled); an answer without it counts as an error.
	RequireHeader string
	// Begin, when set, is called once as the measured window opens (after
	// the warm-up): the orchestrator samples CPU counters there.
	Begin func()
}

// Limits keep every loop bounded whatever the flags say.
const (
	MaxConcurrency = 4096
	MaxDuration    = 10 * time.Minute
	maxSamples     = 4 << 20 // per run
	// A worker stops after this many consecutive failures.
	maxConsecutiveErrors = 100
)

// Summary is a latency distribution.
type Summary struct {
	N                        int
	Mean, P50, P90, P99, Max time.Duration
}

// Result is one measured run.
type Result struct {
	Concurrency int
	// Requests counts measured requests that succeeded.
	Requests int
	Errors   int
	// FirstError describes the first failure, if any.
	FirstError string
	Elapsed    time.Duration
	Latency    Summary
	// TTFB is the time to the first body byte (streams only).
	TTFB Summary
}

// Throughput is successful requests per second.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (c *Config) validate() error {
	u, err := url.Parse(c.URL)
	if err != nil || u.Scheme != "http" {
		return fmt.Errorf("loadgen: URL must be http://, got %q", c.URL)
	}
	if h := u.Hostname(); h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("loadgen: only loopback targets are allowed, got %q", h)
		}
	}
	if c.Concurrency < 1 || c.Concurrency > MaxConcurrency {
		return fmt.Errorf("loadgen: concurrency must be 1..%d", MaxConcurrency)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration || c.Warmup < 0 || c.Warmup > MaxDuration {
		return fmt.Errorf("loadgen: duration must be in (0, %s] and warmup in [0, %s]", MaxDuration, MaxDuration)
	}
	if c.MaxRequests < 0 {
		return errors.New("loadgen: negative request count")
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	return nil
}

// Run warms up, then measures. Each worker owns one connection of a fresh
// transport, so the run starts with no connection of an earlier one.
func Run(cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	tr := &http.Transport{
		MaxIdleConns: cfg.Concurrency, MaxIdleConnsPerHost: cfg.Concurrency, MaxConnsPerHost: cfg.Concurrency,
		DisableCompression: true, IdleConnTimeout: time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.Timeout}
	if cfg.Warmup > 0 {
		phase(client, &cfg, cfg.Warmup, 0, false)
	}
	if cfg.Begin != nil {
		cfg.Begin()
	}
	return phase(client, &cfg, cfg.Duration, cfg.MaxRequests, true), nil
}

type worker struct {
	lat, ttfb []time.Duration
	errors    int
	firstErr  string
}

func phase(client *http.Client, cfg *Config, d time.Duration, maxReq int, record bool) Result {
	ws := make([]worker, cfg.Concurrency)
	perWorker := maxSamples / cfg.Concurrency
	var issued atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for i := range ws {
		w := &ws[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 32<<10)
			consecutive := 0
			for time.Now().Before(deadline) {
				if maxReq > 0 && issued.Add(1) > int64(maxReq) {
					return
				}
				lat, ttfb, err := once(client, cfg, buf)
				if err != nil {
					w.errors++
					if w.firstErr == "" {
						w.firstErr = err.Error()
					}
					if consecutive++; consecutive >= maxConsecutiveErrors {
						return
					}
					continue
				}
				consecutive = 0
				if record && len(w.lat) < perWorker {
					w.lat = append(w.lat, lat)
					if cfg.Stream {
						w.ttfb = append(w.ttfb, ttfb)
					}
				}
			}
		}()
	}
	wg.Wait()
	res := Result{Concurrency: cfg.Concurrency, Elapsed: time.Since(start)}
	var lat, ttfb []time.Duration
	for _, w := range ws {
		lat = append(lat, w.lat...)
		ttfb = append(ttfb, w.ttfb...)
		res.Errors += w.errors
		if res.FirstError == "" {
			res.FirstError = w.firstErr
		}
	}
	res.Requests = len(lat)
	res.Latency = Summarize(lat)
	res.TTFB = Summarize(ttfb)
	return res
}

var doneTail = []byte("data: [DONE]\n\n")

// once sends one request and reads the whole answer.
func once(client *http.Client, cfg *Config, buf []byte) (lat, ttfb time.Duration, err error) {
	req, err := http.NewRequest(http.MethodPost, cfg.URL, bytes.NewReader(cfg.Body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range cfg.Header {
		req.Header.Set(k, v)
	}
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, 0, fmt.Errorf("status %d: %s", resp.StatusCode, b)
	}
	if cfg.RequireHeader != "" && resp.Header.Get(cfg.RequireHeader) == "" {
		return 0, 0, fmt.Errorf("answer without %s", cfg.RequireHeader)
	}
	if !cfg.Stream {
		n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
		if err != nil {
			return 0, 0, err
		}
		if n == 0 {
			return 0, 0, errors.New("empty body")
		}
		return time.Since(t0), 0, nil
	}
	var tail []byte
	total := 0
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if total == 0 {
				ttfb = time.Since(t0)
			}
			total += n
			tail = append(tail, buf[:n]...)
			if len(tail) > 64 {
				tail = append(tail[:0], tail[len(tail)-64:]...)
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return 0, 0, rerr
		}
	}
	lat = time.Since(t0)
	if !bytes.HasSuffix(tail, doneTail) {
		return 0, 0, fmt.Errorf("stream did not end with [DONE] (%d bytes, tail %q)", total, tail)
	}
	return lat, ttfb, nil
}

// Summarize sorts d in place and returns its distribution (nearest rank).
func Summarize(d []time.Duration) Summary {
	if len(d) == 0 {
		return Summary{}
	}
	slices.Sort(d)
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	return Summary{N: len(d), Mean: sum / time.Duration(len(d)),
		P50: rank(d, 0.50), P90: rank(d, 0.90), P99: rank(d, 0.99), Max: d[len(d)-1]}
}

func rank(sorted []time.Duration, q float64) time.Duration {
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
