// Command bench is `make bench`: it builds the gateway, portal-api, the
// floor proxy and the fake upstream; prepares a SQLite database (embedded
// mode) and a fresh MariaDB database plus a private Redis prefix (Redis
// mode); starts everything on loopback; measures direct upstream, floor,
// Redis-mode gateway and embedded gateway scenario by scenario in one run;
// profiles the Redis-mode gateway with perf when available; stops
// everything and removes what it created; runs the hot path's go test
// benchmarks; and writes one markdown report (bench/results/latest.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/bench/loadgen"
)

type options struct {
	root, out, tmp      string
	latency, throughput time.Duration
	stream, warmup      time.Duration
	redisURL, mariadb   string
	logLevel, benchtime string
	chunks, rounds      int
	slots               int
	goBench, perf, keep bool
	hold                bool
	floorFast           bool
	gatewayEnv          envList
}

// envList is a repeatable NAME=value flag.
type envList []string

func (l *envList) String() string { return strings.Join(*l, " ") }

func (l *envList) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("%q is not NAME=value", v)
	}
	*l = append(*l, v)
	return nil
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "", "report file (default <repo>/bench/results/latest.md)")
	flag.DurationVar(&o.latency, "latency", 3*time.Second, "measured window of the concurrency-1 latency scenario")
	flag.DurationVar(&o.throughput, "throughput", 3*time.Second, "measured window of each throughput scenario")
	flag.DurationVar(&o.stream, "stream", 2*time.Second, "measured window of each streaming scenario")
	flag.DurationVar(&o.warmup, "warmup", 500*time.Millisecond, "unrecorded warm-up before each measurement")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of every scenario; each figure is from the round least disturbed by CPU use outside the benchmark (the fastest of rounds equally undisturbed)")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis for the Redis-mode gateway and the floor")
	flag.StringVar(&o.mariadb, "mariadb", "root@tcp(127.0.0.1:3306)/", "MariaDB server DSN (a fresh database is created and dropped)")
	flag.StringVar(&o.logLevel, "log-level", "info", "gateways' RESAYIL_LOG_LEVEL (info, the product default, writes an access log line per request)")
	flag.IntVar(&o.chunks, "chunks", 16, "content events per streamed answer")
	flag.IntVar(&o.slots, "slots", 256, "parallel slots the gateways may use on the fake upstream (RESAYIL_OLLAMA_URLS host|slots); above the highest concurrency, so nothing queues")
	flag.BoolVar(&o.goBench, "gobench", true, "run the hot path's go test benchmarks")
	flag.StringVar(&o.benchtime, "benchtime", "1s", "go test -benchtime")
	flag.BoolVar(&o.perf, "perf", true, "profile the Redis-mode gateway under load with perf, when perf works here")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary folder (binaries, logs, databases, perf data)")
	flag.BoolVar(&o.floorFast, "floor-fasthttp", false, "run the floor with fasthttp's client for non-streaming calls, as the gateway (ADR 8); the default floor keeps net/http as it was defined")
	flag.Var(&o.gatewayEnv, "gateway-env", "NAME=value added to both gateways' environment (repeatable), e.g. GOMAXPROCS=1 to try a runtime setting")
	flag.BoolVar(&o.hold, "hold", false, "after measuring, leave everything running for manual profiling until Ctrl-C (then clean up; no report)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, &o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

// target is one thing the load generator measures.
type target struct {
	key, title string
	url        string // chat completions endpoint
	auth       bool
	proc       *proc // nil for direct (the upstream itself)
}

func run(ctx context.Context, o *options) error {
	var err error
	if o.root, err = repoRoot(); err != nil {
		return err
	}
	if o.out == "" {
		o.out = filepath.Join(o.root, "bench", "results", "latest.md")
	}
	if o.tmp, err = os.MkdirTemp("", "resayil-bench-"); err != nil {
		return err
	}
	if o.keep {
		logf("keeping %s", o.tmp)
	} else {
		defer os.RemoveAll(o.tmp)
	}
	started := time.Now()
	rep := &report{Started: started, Opts: o}

	bins, err := build(ctx, o)
	if err != nil {
		return err
	}
	rdbOpt, err := redis.ParseURL(o.redisURL)
	if err != nil {
		return err
	}
	rdb := redis.NewClient(rdbOpt)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w (make services starts it)", o.redisURL, err)
	}
	prefix := "bench:" + randomHex(6) + ":"
	dbName := "benchdb_" + randomHex(6)
	var procs []*proc
	cleanup := func() {
		for i := len(procs) - 1; i >= 0; i-- {
			if err := procs[i].stop(20 * time.Second); err != nil {
				logf("%s: %v", procs[i].name, err)
				rep.Notes = append(rep.Notes, fmt.Sprintf("%s stopped with: %v", procs[i].name, err))
			}
		}
		procs = nil
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if n, err := deletePrefix(cctx, rdb, prefix); err != nil {
			logf("delete redis keys %s*: %v", prefix, err)
		} else {
			logf("deleted %d redis keys under %s", n, prefix)
		}
		if err := dropDatabase(cctx, o.mariadb, dbName); err != nil {
			logf("drop database %s: %v", dbName, err)
		}
	}
	defer func() { cleanup() }()

	// The fake upstream and the floor.
	up, upAddr, err := startProc("upstream", bins["upstream"], []string{"-addr", "127.0.0.1:0", "-chunks", fmt.Sprint(o.chunks)},
		env(nil), filepath.Join(o.tmp, "upstream.log"), true)
	if err != nil {
		return err
	}
	procs = append(procs, up)
	upURL := "http://" + upAddr
	floorArgs := []string{"-addr", "127.0.0.1:0", "-upstream", upURL, "-redis", o.redisURL, "-prefix", prefix + "floor:"}
	if o.floorFast {
		floorArgs = append(floorArgs, "-fasthttp")
	}
	floor, floorAddr, err := startProc("floor", bins["floor"], floorArgs, env(nil), filepath.Join(o.tmp, "floor.log"), true)
	if err != nil {
		return err
	}
	procs = append(procs, floor)

	// Databases and the bench account.
	logf("preparing SQLite and MariaDB databases (portal-api migrate up, seed)")
	sqliteDSN := "sqlite:" + filepath.Join(o.tmp, "embedded.db")
	mysqlDSN, err := createDatabase(ctx, o.mariadb, dbName)
	if err != nil {
		return fmt.Errorf("mariadb at %s: %w (make services starts it)", o.mariadb, err)
	}
	keys := map[string]string{}
	for mode, dsn := range map[string]string{"embedded": sqliteDSN, "redis": mysqlDSN} {
		dir := filepath.Join(o.tmp, mode)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := migrateAndSeed(ctx, bins["portal-api"], dsn, dir); err != nil {
			return err
		}
		if keys[mode], err = provision(ctx, dsn); err != nil {
			return fmt.Errorf("provision %s database: %w", mode, err)
		}
	}

	// The two gateways, the real binary.
	gw := map[string]*proc{}
	gwURL := map[string]string{}
	for _, mode := range []string{"redis", "embedded"} {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		e := []string{
			"RESAYIL_GATEWAY_ADDR=" + addr, "RESAYIL_GATEWAY_METRICS_ADDR=127.0.0.1:0",
			"RESAYIL_DATA_DIR=" + filepath.Join(o.tmp, mode), "RESAYIL_OLLAMA_URL=" + upURL,
			fmt.Sprintf("RESAYIL_OLLAMA_URLS=%s|%d", upURL, o.slots),
			"RESAYIL_MODELS_FILE=" + filepath.Join(o.root, "config", "models.yaml"),
			"RESAYIL_LOG_LEVEL=" + o.logLevel, "RESAYIL_SHUTDOWN_TIMEOUT=10s", "RESAYIL_ENV=development",
		}
		if mode == "redis" {
			e = append(e, "RESAYIL_DB_DSN="+mysqlDSN, "RESAYIL_REDIS_URL="+o.redisURL, "RESAYIL_REDIS_PREFIX="+prefix+"gw:")
		} else {
			e = append(e, "RESAYIL_DB_DSN="+sqliteDSN)
		}
		e = append(e, o.gatewayEnv...)
		p, _, err := startProc("gateway-"+mode, bins["gateway"], []string{"serve"}, env(nil, e...),
			filepath.Join(o.tmp, "gateway-"+mode+".log"), false)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		if err := waitReady(ctx, p, "http://"+addr+"/readyz", 60*time.Second); err != nil {
			return err
		}
		gw[mode], gwURL[mode] = p, "http://"+addr
	}
	targets := []target{
		{key: "direct", title: "direct", url: upURL + "/v1/chat/completions"},
		{key: "floor", title: "floor", url: "http://" + floorAddr + "/v1/chat/completions"},
		{key: "redis", title: "gateway (Redis)", url: gwURL["redis"] + "/v1/chat/completions", auth: true, proc: gw["redis"]},
		{key: "embedded", title: "gateway (embedded)", url: gwURL["embedded"] + "/v1/chat/completions", auth: true, proc: gw["embedded"]},
	}
	targets[1].proc = floor
	bearer := func(t target) map[string]string {
		if !t.auth {
			return nil
		}
		return map[string]string{"Authorization": "Bearer " + keys[t.key]}
	}
	for _, t := range targets {
		// A gateway may refuse the model until its first health probe of
		// the upstream has run: retry for a while.
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := smoke(t, bearer(t))
			if err == nil {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return err
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	watch := &cpuWatch{pids: map[string]int{"loadgen": os.Getpid(), "upstream": up.pid(), "floor": floor.pid(),
		"redis": gw["redis"].pid(), "embedded": gw["embedded"].pid()}}
	if pid, err := redisPID(ctx, rdb); err == nil {
		watch.pids["redis-server"] = pid
	}
	// The Redis-mode gateway's usage writer inserts into MariaDB: that is
	// its work, not outside work disturbing the measurement.
	if pid, err := mariadbPID(ctx, o.mariadb); err == nil {
		watch.pids["mariadb"] = pid
	}
	logf("all targets answer; measuring %d round(s) (about %s)", o.rounds, estimate(o))
	for round := 1; round <= max(o.rounds, 1); round++ {
		for _, sc := range scenarios(o) {
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, t := range targets {
				var before cpuSnap
				cfg := loadgen.Config{URL: t.url, Body: sc.body, Header: bearer(t), Stream: sc.stream,
					Concurrency: sc.c, Warmup: o.warmup, Duration: sc.d, Begin: func() { before = watch.snap() }}
				if t.auth && !sc.stream {
					// Set only after a successful settlement: each answer proves its billing ran.
					cfg.RequireHeader = "x-resayil-credits-charged"
				}
				res, err := loadgen.Run(cfg)
				if err != nil {
					return err
				}
				use := before.to(watch.snap())
				logf("round %d %-17s %-19s %6.0f req/s  p50 %-9s p99 %-9s ttfb p50 %-9s other CPU %.2f cores, errors %d",
					round, sc.name, t.title, res.Throughput(), res.Latency.P50.Round(time.Microsecond), res.Latency.P99.Round(time.Microsecond),
					res.TTFB.P50.Round(time.Microsecond), use.Foreign, res.Errors)
				if res.FirstError != "" {
					rep.Notes = append(rep.Notes, fmt.Sprintf("round %d, %s, %s: %d errors, first: %s", round, sc.name, t.title, res.Errors, res.FirstError))
				}
				rep.add(sc.key, t.key, res, use)
				if sc.key == "c128" && t.proc != nil {
					if hwm, _, err := t.proc.memory(); err == nil {
						rep.setRSS("c128", t.key, hwm)
					}
				}
			}
		}
	}
	for _, t := range targets {
		p := t.proc
		if t.key == "direct" {
			p = up
		}
		if hwm, rss, err := p.memory(); err == nil {
			rep.setRSS("end", t.key, hwm)
			rep.setRSS("now", t.key, rss)
		}
	}

	if o.perf {
		for _, t := range []target{targets[1], targets[2]} {
			if prof, err := perfProfile(ctx, o, t.proc, t, bearer(t)); err != nil {
				logf("perf profile of %s skipped: %v", t.title, err)
				rep.Notes = append(rep.Notes, "perf profile of "+t.title+" skipped: "+err.Error())
			} else {
				rep.Perf = append(rep.Perf, prof)
			}
		}
	}
	if o.hold {
		logf("holding: upstream %s, floor http://%s, gateway (Redis) %s key %s, gateway (embedded) %s key %s; logs in %s; Ctrl-C ends",
			upURL, floorAddr, gwURL["redis"], keys["redis"], gwURL["embedded"], keys["embedded"], o.tmp)
		<-ctx.Done()
		logf("stopping and cleaning up")
		return nil
	}
	rep.Logs = logSizes(o.tmp)
	cleanup()

	if o.goBench {
		logf("running the hot path's go test benchmarks")
		if rep.GoBench, err = goBenchmarks(ctx, o); err != nil {
			rep.Notes = append(rep.Notes, "go test benchmarks: "+err.Error())
		}
	}
	rep.Elapsed = time.Since(started)
	md := rep.markdown()
	if err := os.MkdirAll(filepath.Dir(o.out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	logf("report written to %s (%s)", o.out, rep.Elapsed.Round(time.Second))
	return nil
}

type scenario struct {
	key, name string
	c         int
	d         time.Duration
	stream    bool
	body      []byte
}

const (
	// bodyPlain is a small chat request, the shape of most API traffic.
	bodyPlain = `{"model":"llama3.2:3b","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in three languages."}],"max_tokens":64,"temperature":0.2}`
	// bodyStream asks for the usage chunk too, so every target relays the
	// same bytes.
	bodyStream = `{"model":"llama3.2:3b","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in three languages."}],"max_tokens":64,"temperature":0.2,"stream":true,"stream_options":{"include_usage":true}}`
)

func scenarios(o *options) []scenario {
	return []scenario{
		{key: "c1", name: "latency c=1", c: 1, d: o.latency, body: []byte(bodyPlain)},
		{key: "c32", name: "throughput c=32", c: 32, d: o.throughput, body: []byte(bodyPlain)},
		{key: "c128", name: "throughput c=128", c: 128, d: o.throughput, body: []byte(bodyPlain)},
		{key: "s1", name: "stream c=1", c: 1, d: o.stream, stream: true, body: []byte(bodyStream)},
		{key: "s32", name: "stream c=32", c: 32, d: o.stream, stream: true, body: []byte(bodyStream)},
	}
}

func estimate(o *options) time.Duration {
	return time.Duration(max(o.rounds, 1)) * (4*(o.latency+2*o.throughput+2*o.stream) + 20*o.warmup)
}

// redisPID is the Redis server's process id (Redis runs on this machine).
func redisPID(ctx context.Context, rdb *redis.Client) (int, error) {
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("no process_id in INFO server")
}

// smoke checks that a target answers both shapes correctly before any
// number is taken from it.
func smoke(t target, hdr map[string]string) error {
	for _, stream := range []bool{false, true} {
		body := bodyPlain
		if stream {
			body = bodyStream
		}
		req, _ := http.NewRequest(http.MethodPost, t.url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", t.title, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %d: %s", t.title, resp.StatusCode, b)
		}
		switch {
		case !stream && !strings.Contains(string(b), `"usage"`):
			return fmt.Errorf("%s: no usage in %s", t.title, b)
		case stream && !strings.HasSuffix(string(b), "data: [DONE]\n\n"):
			return fmt.Errorf("%s: stream did not end with [DONE]: %q", t.title, b)
		case t.auth && !stream && resp.Header.Get("x-resayil-credits-charged") == "":
			return fmt.Errorf("%s: no x-resayil-credits-charged header (settlement failed?)", t.title)
		case t.auth && resp.Header.Get("x-ratelimit-limit-requests") == "":
			return fmt.Errorf("%s: no x-ratelimit-limit-requests header (rate limiter off?)", t.title)
		}
	}
	return nil
}

// repoRoot is the folder holding go.work, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for range 32 {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", errors.New("no go.work above the working directory: run from the repository")
}

// build compiles the four programs into the temporary folder: the product
// binaries in workspace mode, the bench programs in their own module.
func build(ctx context.Context, o *options) (map[string]string, error) {
	bins := map[string]string{}
	for _, b := range []struct{ name, dir, pkg string }{
		{"gateway", o.root, "./gateway/cmd/gateway"},
		{"portal-api", o.root, "./portal-api/cmd/portal-api"},
		{"floor", filepath.Join(o.root, "bench"), "./floor"},
		{"upstream", filepath.Join(o.root, "bench"), "./upstream"},
	} {
		out := filepath.Join(o.tmp, b.name)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, b.pkg)
		cmd.Dir = b.dir
		if b.dir == o.root {
			cmd.Env = env([]string{"GOWORK"})
		} else {
			cmd.Env = env([]string{"GOWORK"}, "GOWORK=off")
		}
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go build %s: %w\n%s", b.pkg, err, msg)
		}
		bins[b.name] = out
	}
	logf("built gateway, portal-api, floor and upstream in %s", o.tmp)
	return bins, nil
}

func logSizes(dir string) map[string]int64 {
	out := map[string]int64{}
	for _, n := range []string{"gateway-redis.log", "gateway-embedded.log"} {
		if st, err := os.Stat(filepath.Join(dir, n)); err == nil {
			out[n] = st.Size()
		}
	}
	return out
}
