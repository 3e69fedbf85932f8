// Command fakeollama serves the fake Ollama of pkg/fake/fakeollama on a
// fixed address, so `make run` works on a machine without Ollama or a GPU.
// It is a FAKE for development: its replies are echoes of the prompt, not a
// model's output. Never point production at it.
//
//	fakeollama -addr 127.0.0.1:11434 -models llama3.2:3b,qwen2.5:7b -latency 200ms
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/resayil/portal/pkg/fake/fakeollama"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "fakeollama:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. ready, when not nil, receives the address
// actually bound (useful with -addr 127.0.0.1:0).
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	fs := flag.NewFlagSet("fakeollama", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:11434", "address to listen on")
	models := fs.String("models", strings.Join(fakeollama.DefaultModels(), ","), "comma-separated installed models")
	latency := fs.Duration("latency", 0, "delay before the first byte of each chat response")
	chunkDelay := fs.Duration("chunk-delay", 20*time.Millisecond, "delay between streamed chunks")
	tokens := fs.Int("tokens", fakeollama.DefaultTokens, "completion tokens per reply (before max_tokens)")
	parallel := fs.Int("parallel", 0, "OLLAMA_NUM_PARALLEL emulation; 0 means no limit")
	maxQueue := fs.Int("max-queue", 512, "OLLAMA_MAX_QUEUE emulation; used when -parallel > 0")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var names []string
	for n := range strings.SplitSeq(*models, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}

	fake := fakeollama.NewHandler(
		fakeollama.WithModels(names...),
		fakeollama.WithLatency(*latency),
		fakeollama.WithChunkDelay(*chunkDelay),
		fakeollama.WithTokens(*tokens),
		fakeollama.WithParallel(*parallel, *maxQueue),
	)
	defer fake.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Warn("FAKE Ollama for development only: replies echo the prompt, no model runs",
		"addr", ln.Addr().String(), "models", names, "latency", *latency, "parallel", *parallel)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	srv := &http.Server{Handler: fake.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fake.Close() // release held streams so Shutdown does not wait on them
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("fake Ollama stopped")
	return nil
}
