// Command loadgen runs one load against a loopback endpoint and prints its
// latency distribution and throughput (the orchestrator, cmd/bench, uses
// the same package in process).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/resayil/portal/bench/loadgen"
)

func main() {
	u := flag.String("url", "http://127.0.0.1:8080/v1/chat/completions", "endpoint (loopback only)")
	body := flag.String("body", `{"model":"llama3.2:3b","messages":[{"role":"user","content":"Say hello."}],"max_tokens":64}`, "JSON body")
	key := flag.String("key", "", "API key (sent as Bearer)")
	stream := flag.Bool("stream", false, "the answer is SSE (records time to first byte)")
	c := flag.Int("c", 1, "concurrency")
	d := flag.Duration("d", 5*time.Second, "measured duration")
	n := flag.Int("n", 0, "at most this many measured requests (0: no bound but -d)")
	warm := flag.Duration("warmup", time.Second, "unrecorded warm-up")
	flag.Parse()
	cfg := loadgen.Config{URL: *u, Body: []byte(*body), Stream: *stream, Concurrency: *c, Duration: *d, MaxRequests: *n, Warmup: *warm}
	if *key != "" {
		cfg.Header = map[string]string{"Authorization": "Bearer " + *key}
	}
	res, err := loadgen.Run(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Printf("requests %d  errors %d  elapsed %s  throughput %.0f req/s\n", res.Requests, res.Errors, res.Elapsed.Round(time.Millisecond), res.Throughput())
	fmt.Printf("latency  p50 %s  p90 %s  p99 %s  max %s  mean %s\n", res.Latency.P50, res.Latency.P90, res.Latency.P99, res.Latency.Max, res.Latency.Mean)
	if *stream {
		fmt.Printf("ttfb     p50 %s  p90 %s  p99 %s  max %s\n", res.TTFB.P50, res.TTFB.P90, res.TTFB.P99, res.TTFB.Max)
	}
	if res.FirstError != "" {
		fmt.Println("first error:", res.FirstError)
	}
	if res.Errors > 0 {
		os.Exit(1)
	}
}
