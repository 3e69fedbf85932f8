// Command gateway serves the OpenAI-compatible API: `gateway serve`.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // Asia/Kuwait in scratch images

	"github.com/resayil/portal/gateway/internal/app"
	"github.com/resayil/portal/pkg/authlog"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/config"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/logging"
)

const usage = `usage: gateway <command>

commands:
  serve          run the OpenAI-compatible gateway (default)
  local-models   print the Ollama model names the catalog routes to, comma-separated
                 (RESAYIL_MODELS_FILE less RESAYIL_RESTRICTED_MODELS; make run starts the fake Ollama with them)
`

// defaultGOGC is the gateway's garbage-collection target when GOGC is not
// set: its live heap is small (tens of MiB) and nearly all of its garbage
// is per request, so at the runtime's default of 100 it collects several
// times a second under load; 200 halves that for a few MiB of heap.
const defaultGOGC = 200

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGOGC)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve":
	case "local-models":
		return localModels(environ, stdout)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
	var cfg app.Config
	if err := config.Load(&cfg, environ); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	// Buffered: the access log writes a line per request (logging.NewBuffered).
	log, stopLog := logging.NewBuffered(stderr, cfg.IsProduction(), cfg.LogLevel)
	defer stopLog()
	start := time.Now()
	log.Info("starting gateway", "config", config.Fields(&cfg), "database", database.Redacted(cfg.DSN()))
	a, err := app.New(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	defer catalog.ReloadOnHangup(a.ReloadCatalog, log)()
	defer authlog.ReopenOnHangup(a.AuthLog, log)()
	return a.Serve(ctx, func(addr net.Addr) {
		log.Info("gateway ready", "addr", addr.String(), "startup_ms", time.Since(start).Milliseconds())
		logging.Flush(log)
	})
}

// localModels prints the local (Ollama) model names of the catalog the
// gateway would serve, in catalog order, comma-separated on one line.
func localModels(environ []string, stdout io.Writer) error {
	var cfg app.Config
	if err := config.Load(&cfg, environ); err != nil {
		return err
	}
	cat, err := catalog.Load(cfg.ModelsFile, cfg.Restricted())
	if err != nil {
		return err
	}
	var names []string
	for _, m := range cat.Models() {
		if m.Local != "" && !slices.Contains(names, m.Local) {
			names = append(names, m.Local)
		}
	}
	_, err = fmt.Fprintln(stdout, strings.Join(names, ","))
	return err
}
