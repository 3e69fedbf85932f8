// Command upstream is the benchmark's fake model server: the cheapest
// OpenAI-shaped /v1/chat/completions that fasthttp can serve, so that the
// upstream is never what a benchmark measures (plus Ollama's /api/version
// and /api/tags, which the gateway probes for health). It answers a fixed
// completion with usage, or (when the body asks for "stream":true) an SSE
// stream of -chunks content events, a usage event and [DONE], each event
// written and flushed on its own, with no artificial latency unless
// -chunk-delay says so. It listens on loopback only and prints
// "listening <addr>" once ready.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	chunks := flag.Int("chunks", 16, "content events per stream")
	chunkDelay := flag.Duration("chunk-delay", 0, "pause between stream events")
	model := flag.String("model", "llama3.2:3b", "model name in answers")
	installed := flag.String("models", "llama3.2:3b,qwen2.5:7b,llama3.1:70b", "models listed by /api/tags (the gateway's health probe)")
	flag.Parse()
	host, _, err := net.SplitHostPort(*addr)
	if err != nil || !net.ParseIP(host).IsLoopback() {
		log.Fatalf("upstream: -addr must be a loopback address, got %q", *addr)
	}
	if *chunks < 1 || *chunks > 10_000 {
		log.Fatalf("upstream: -chunks must be 1..10000")
	}
	a := newAnswers(*model, *chunks)
	a.tags = tagsJSON(strings.Split(*installed, ","))
	srv := &fasthttp.Server{
		Handler:                       a.handle(*chunkDelay),
		Name:                          "bench-upstream",
		NoDefaultDate:                 true,
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: true,
		ReadTimeout:                   time.Minute,
		IdleTimeout:                   time.Minute,
	}
	ln, err := net.Listen("tcp4", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		<-c
		_ = srv.Shutdown()
	}()
	if err := srv.Serve(ln); err != nil {
		log.Fatal(err)
	}
}

type answers struct {
	tags       []byte
	completion []byte
	events     [][]byte // complete SSE events, "data: ...\n\n"
}

func newAnswers(model string, chunks int) *answers {
	m := strconv.Quote(model)
	a := &answers{completion: []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":` + m +
		`,"system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help you today?"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":26,"completion_tokens":` + strconv.Itoa(chunks) + `,"total_tokens":` + strconv.Itoa(26+chunks) + `}}`)}
	head := `{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":` + m + `,"system_fingerprint":"fp_bench","choices":[{"index":0,"delta":`
	a.events = append(a.events, []byte("data: "+head+`{"role":"assistant","content":""},"finish_reason":null}]}`+"\n\n"))
	for i := range chunks {
		a.events = append(a.events, []byte("data: "+head+`{"content":"tok`+strconv.Itoa(i)+` "},"finish_reason":null}]}`+"\n\n"))
	}
	a.events = append(a.events, []byte("data: "+head+`{},"finish_reason":"stop"}]}`+"\n\n"))
	a.events = append(a.events, []byte(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":`+m+
		`,"system_fingerprint":"fp_bench","choices":[],"usage":{"prompt_tokens":26,"completion_tokens":`+strconv.Itoa(chunks)+`,"total_tokens":`+strconv.Itoa(26+chunks)+`}}`+"\n\n"))
	a.events = append(a.events, []byte("data: [DONE]\n\n"))
	return a
}

// tagsJSON is Ollama's GET /api/tags for the named models.
func tagsJSON(names []string) []byte {
	var b bytes.Buffer
	b.WriteString(`{"models":[`)
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		q := strconv.Quote(strings.TrimSpace(n))
		b.WriteString(`{"name":` + q + `,"model":` + q + `,"modified_at":"2026-01-01T00:00:00Z","size":1,"digest":"bench","details":{"format":"gguf"}}`)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

var (
	path        = []byte("/v1/chat/completions")
	versionPath = []byte("/api/version")
	tagsPath    = []byte("/api/tags")
)

func (a *answers) handle(delay time.Duration) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		// Ollama's health endpoints, which the gateway probes.
		if ctx.IsGet() || ctx.IsHead() {
			switch {
			case bytes.Equal(ctx.Path(), versionPath):
				ctx.SetContentType("application/json")
				ctx.SetBodyString(`{"version":"0.13.5"}`)
				return
			case bytes.Equal(ctx.Path(), tagsPath):
				ctx.SetContentType("application/json")
				ctx.SetBody(a.tags)
				return
			}
		}
		if !ctx.IsPost() || !bytes.Equal(ctx.Path(), path) {
			ctx.SetStatusCode(fasthttp.StatusNotFound)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"error":{"message":"not found","type":"invalid_request_error"}}`)
			return
		}
		if !wantsStream(ctx.PostBody()) {
			ctx.SetContentType("application/json")
			ctx.SetBody(a.completion)
			return
		}
		ctx.SetContentType("text/event-stream")
		ctx.Response.Header.Set("Cache-Control", "no-cache")
		ctx.SetBodyStreamWriter(func(w *bufio.Writer) {
			for i, ev := range a.events {
				if i > 0 && delay > 0 {
					time.Sleep(delay)
				}
				if _, err := w.Write(ev); err != nil {
					return
				}
				if err := w.Flush(); err != nil {
					return
				}
			}
		})
	}
}

// wantsStream reports whether the JSON body has "stream": true at any depth
// (the benchmark's bodies have it only at the top); no full parse.
func wantsStream(body []byte) bool {
	key := []byte(`"stream"`)
	for {
		i := bytes.Index(body, key)
		if i < 0 {
			return false
		}
		rest := bytes.TrimLeft(body[i+len(key):], " \t\r\n")
		if len(rest) > 0 && rest[0] == ':' {
			rest = bytes.TrimLeft(rest[1:], " \t\r\n")
			return bytes.HasPrefix(rest, []byte("true"))
		}
		body = body[i+len(key):]
	}
}
