package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/resayil/portal/bench/loadgen"
)

type report struct {
	Started time.Time
	Elapsed time.Duration
	Opts    *options
	res     map[string]map[string]loadgen.Result // scenario → target
	cpu     map[string]map[string]cpuUse         // the same measurement's CPU
	rounds  map[string]map[string]int            // how many rounds measured it
	rss     map[string]map[string]int64          // "c128" | "end" | "now" → target → KiB
	Perf    []*profile
	GoBench []goBench
	Notes   []string
	Logs    map[string]int64
}

// foreignNoise is how much outside CPU (cores) counts as the same
// disturbance: the measurement reads it to about a hundredth of a core.
const foreignNoise = 0.02

// add records a measurement, keeping of several rounds the one during
// which the least CPU went to work outside the benchmark, and of rounds
// equally undisturbed the one with the most requests per second (the
// fastest latencies too at concurrency 1): every target's best, so a
// ratio compares bests rather than whichever round came first.
func (r *report) add(sc, t string, res loadgen.Result, use cpuUse) {
	if r.res == nil {
		r.res, r.cpu, r.rounds = map[string]map[string]loadgen.Result{}, map[string]map[string]cpuUse{}, map[string]map[string]int{}
	}
	if r.res[sc] == nil {
		r.res[sc], r.cpu[sc], r.rounds[sc] = map[string]loadgen.Result{}, map[string]cpuUse{}, map[string]int{}
	}
	r.rounds[sc][t]++
	if prev, ok := r.cpu[sc][t]; ok && !better(r.res[sc][t], prev, res, use) {
		return
	}
	r.res[sc][t], r.cpu[sc][t] = res, use
}

// better reports whether a measurement (res, use) should replace the kept
// one (was, wasUse): fewer errors first, then less outside CPU beyond the
// noise, then more requests per second.
func better(was loadgen.Result, wasUse cpuUse, res loadgen.Result, use cpuUse) bool {
	switch {
	case res.Errors != was.Errors:
		return res.Errors < was.Errors
	case use.Foreign < wasUse.Foreign-foreignNoise:
		return true
	case use.Foreign > wasUse.Foreign+foreignNoise:
		return false
	}
	return res.Throughput() > was.Throughput()
}

// switchesPerRequest is the target process's context switches per
// successful request of one measurement.
func (r *report) switchesPerRequest(sc string) func(string) (float64, bool) {
	return r.perRequestCount(sc, func(u cpuUse) map[string]int64 { return u.Switches })
}

// readWritesPerRequest is the target process's read and write system calls
// per successful request.
func (r *report) readWritesPerRequest(sc string) func(string) (float64, bool) {
	return r.perRequestCount(sc, func(u cpuUse) map[string]int64 { return u.ReadWrites })
}

func (r *report) perRequestCount(sc string, pick func(cpuUse) map[string]int64) func(string) (float64, bool) {
	return func(t string) (float64, bool) {
		res, ok := r.res[sc][t]
		if !ok || res.Requests == 0 {
			return 0, false
		}
		p := t
		if t == "direct" {
			p = "upstream"
		}
		v, ok := pick(r.cpu[sc][t])[p]
		return float64(v) / float64(res.Requests), ok
	}
}

// capacity is the throughput the machine would give if the benchmark's
// processes had every core: cores ÷ their summed CPU per request. It
// takes out what other work on the machine took during the measurement.
func (r *report) capacity(sc string) func(string) (float64, bool) {
	return func(t string) (float64, bool) {
		res, ok := r.res[sc][t]
		if !ok || res.Requests == 0 {
			return 0, false
		}
		var sum time.Duration
		for _, v := range r.cpu[sc][t].Procs {
			sum += v
		}
		if sum <= 0 {
			return 0, false
		}
		return float64(runtime.NumCPU()) * float64(res.Requests) / sum.Seconds(), true
	}
}

// cpuPerRequest is a process's CPU time per successful request of one
// measurement; proc "" means the target's own process (the upstream for
// direct).
func (r *report) cpuPerRequest(sc, proc string) func(string) (float64, bool) {
	return func(t string) (float64, bool) {
		res, ok := r.res[sc][t]
		if !ok || res.Requests == 0 {
			return 0, false
		}
		p := proc
		if p == "" {
			p = t
			if t == "direct" {
				p = "upstream"
			}
		}
		v, ok := r.cpu[sc][t].Procs[p]
		if !ok {
			return 0, false
		}
		return float64(v) / float64(res.Requests), true
	}
}

func (r *report) setRSS(when, t string, kib int64) {
	if r.rss == nil {
		r.rss = map[string]map[string]int64{}
	}
	if r.rss[when] == nil {
		r.rss[when] = map[string]int64{}
	}
	r.rss[when][t] = kib
}

var targetKeys = []string{"direct", "floor", "redis", "embedded"}

// metric is one row of the results table.
type metric struct {
	label string
	kind  int // latency, throughput, memory
	get   func(t string) (float64, bool)
}

const (
	kLatency = iota
	kThroughput
	kMemory
	kCount
)

func (r *report) lat(sc string, pick func(loadgen.Result) time.Duration) func(string) (float64, bool) {
	return func(t string) (float64, bool) {
		res, ok := r.res[sc][t]
		if !ok || res.Requests == 0 {
			return 0, false
		}
		return float64(pick(res)), true
	}
}

func (r *report) tput(sc string) func(string) (float64, bool) {
	return func(t string) (float64, bool) {
		res, ok := r.res[sc][t]
		return res.Throughput(), ok
	}
}

func (r *report) mem(when string, withDirect bool) func(string) (float64, bool) {
	return func(t string) (float64, bool) {
		if t == "direct" && !withDirect {
			return 0, false
		}
		v, ok := r.rss[when][t]
		return float64(v) * 1024, ok && v > 0
	}
}

func p50(x loadgen.Result) time.Duration  { return x.Latency.P50 }
func p99(x loadgen.Result) time.Duration  { return x.Latency.P99 }
func tp50(x loadgen.Result) time.Duration { return x.TTFB.P50 }
func tp99(x loadgen.Result) time.Duration { return x.TTFB.P99 }

func (r *report) metrics() []metric {
	return []metric{
		{"latency c=1, p50", kLatency, r.lat("c1", p50)},
		{"latency c=1, p99", kLatency, r.lat("c1", p99)},
		{"throughput c=32 (req/s)", kThroughput, r.tput("c32")},
		{"capacity c=32, CPU-normalized (req/s)", kThroughput, r.capacity("c32")},
		{"latency c=32, p50", kLatency, r.lat("c32", p50)},
		{"latency c=32, p99", kLatency, r.lat("c32", p99)},
		{"throughput c=128 (req/s)", kThroughput, r.tput("c128")},
		{"capacity c=128, CPU-normalized (req/s)", kThroughput, r.capacity("c128")},
		{"latency c=128, p99", kLatency, r.lat("c128", p99)},
		{"stream TTFB c=1, p50", kLatency, r.lat("s1", tp50)},
		{"stream TTFB c=1, p99", kLatency, r.lat("s1", tp99)},
		{"stream TTFB c=32, p50", kLatency, r.lat("s32", tp50)},
		{"stream TTFB c=32, p99", kLatency, r.lat("s32", tp99)},
		{"stream, whole answer c=1, p50", kLatency, r.lat("s1", p50)},
		{"stream throughput c=32 (streams/s)", kThroughput, r.tput("s32")},
		{"proxy CPU per request, c=1 (direct: upstream's)", kLatency, r.cpuPerRequest("c1", "")},
		{"proxy CPU per request, c=32 (direct: upstream's)", kLatency, r.cpuPerRequest("c32", "")},
		{"proxy context switches per request, c=32", kCount, r.switchesPerRequest("c32")},
		{"proxy read+write syscalls per request, c=1", kCount, r.readWritesPerRequest("c1")},
		{"proxy read+write syscalls per request, c=32", kCount, r.readWritesPerRequest("c32")},
		{"Redis server CPU per request, c=32", kLatency, r.cpuPerRequest("c32", "redis-server")},
		{"MariaDB server CPU per request, c=32", kLatency, r.cpuPerRequest("c32", "mariadb")},
		{"fake upstream CPU per request, c=32", kLatency, r.cpuPerRequest("c32", "upstream")},
		{"load generator CPU per request, c=32", kLatency, r.cpuPerRequest("c32", "loadgen")},
		{"proxy CPU per stream, c=32", kLatency, r.cpuPerRequest("s32", "")},
		{"peak RSS after c=128 (VmHWM)", kMemory, r.mem("c128", false)},
		{"peak RSS, whole run (VmHWM)", kMemory, r.mem("end", true)},
	}
}

func fmtDur(ns float64) string {
	d := time.Duration(ns)
	switch {
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%d µs", d.Microseconds())
	}
}

func fmtValue(kind int, v float64) string {
	switch kind {
	case kLatency:
		return fmtDur(v)
	case kThroughput:
		return fmt.Sprintf("%.0f", v)
	case kCount:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
}

// compare renders gateway against a reference: added time and ratio for
// latencies, a percentage for throughput, a ratio for memory.
func compare(kind int, gw, ref float64) string {
	if ref <= 0 {
		return "—"
	}
	switch kind {
	case kLatency:
		d := gw - ref
		sign := "+"
		if d < 0 {
			sign, d = "−", -d
		}
		return fmt.Sprintf("%s%s (×%.2f)", sign, fmtDur(d), gw/ref)
	case kThroughput:
		return fmt.Sprintf("%.0f %%", 100*gw/ref)
	case kCount:
		return fmt.Sprintf("%+.1f (×%.2f)", gw-ref, gw/ref)
	default:
		return fmt.Sprintf("×%.2f", gw/ref)
	}
}

func (r *report) markdown() string {
	var b strings.Builder
	o := r.Opts
	fmt.Fprintf(&b, "# `make bench` report\n\n")
	fmt.Fprintf(&b, "Run %s, %s total. %s. Source: %s.\n\n", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Elapsed.Round(time.Second), machine(), sourceVersion(o.root))
	fmt.Fprintf(&b, "One run, four targets measured one after another per scenario (all four processes stay up throughout), "+
		"everything on loopback and sharing the cores: load generator, fake upstream, Redis, MariaDB and the proxies. "+
		"%d round(s); each measurement follows %s of unrecorded warm-up; windows: c=1 latency %s, throughput %s, streams %s. "+
		"Fake upstream: zero latency, %d content events per stream. Gateways: the real `gateway serve` binary, "+
		"RESAYIL_LOG_LEVEL=%s, key cache warm after the first request, plan limit %d/min and a balance that never refuse. "+
		"Non-streaming body %d bytes, `max_tokens` 64. Floor's client for non-streaming calls: %s.\n\n",
		max(o.rounds, 1), o.warmup, o.latency, o.throughput, o.stream, o.chunks, o.logLevel, benchRPM, len(bodyPlain), floorClient(o))

	b.WriteString("## Results\n\n")
	b.WriteString("| metric | direct | floor | gateway (Redis) | gateway (embedded) | Redis vs direct | Redis vs floor | embedded vs direct | embedded vs floor |\n")
	b.WriteString("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, m := range r.metrics() {
		vals := map[string]float64{}
		fmt.Fprintf(&b, "| %s |", m.label)
		for _, t := range targetKeys {
			v, ok := m.get(t)
			if !ok {
				b.WriteString(" — |")
				continue
			}
			vals[t] = v
			fmt.Fprintf(&b, " %s |", fmtValue(m.kind, v))
		}
		for _, gw := range []string{"redis", "embedded"} {
			for _, ref := range []string{"direct", "floor"} {
				g, ok1 := vals[gw]
				f, ok2 := vals[ref]
				if !ok1 || !ok2 {
					b.WriteString(" — |")
					continue
				}
				fmt.Fprintf(&b, " %s |", compare(m.kind, g, f))
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("| errors (all scenarios) |")
	for _, t := range targetKeys {
		n := 0
		for _, sc := range r.res {
			n += sc[t].Errors
		}
		fmt.Fprintf(&b, " %d |", n)
	}
	b.WriteString(" | | | |\n\n")
	b.WriteString("The direct column's RSS is the fake upstream's. Throughput comparisons are the gateway's share of the reference's requests per second. " +
		"CPU per request is on-CPU time (schedstat, all threads) over the measured window divided by the requests served in it; " +
		"the Redis server is shared with anything else using it on this machine.\n\n")
	fmt.Fprintf(&b, "CPU taken by work outside the benchmark during each kept measurement (cores of %d; each figure above is from the least disturbed of its rounds, and of rounds equally undisturbed (within %.2f cores) the fastest):\n\n", runtime.NumCPU(), foreignNoise)
	b.WriteString("| scenario | direct | floor | gateway (Redis) | gateway (embedded) |\n| --- | ---: | ---: | ---: | ---: |\n")
	for _, sc := range scenarios(o) {
		fmt.Fprintf(&b, "| %s |", sc.name)
		for _, t := range targetKeys {
			if u, ok := r.cpu[sc.key][t]; ok {
				fmt.Fprintf(&b, " %.2f (of %d rounds) |", u.Foreign, r.rounds[sc.key][t])
			} else {
				b.WriteString(" — |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")

	b.WriteString(r.targetsTable())

	if len(r.GoBench) > 0 {
		b.WriteString("## Hot path micro-benchmarks (`go test -run '^$' -bench . -benchmem`)\n\n")
		b.WriteString("| package | benchmark | ns/op | B/op | allocs/op | other |\n| --- | --- | ---: | ---: | ---: | --- |\n")
		for _, g := range r.GoBench {
			fmt.Fprintf(&b, "| %s | %s | %.0f | %.0f | %.0f | %s |\n", g.Pkg, g.Name, g.NsOp, g.BOp, g.AllocsOp, g.Extra)
		}
		b.WriteString("\n")
	}

	r.perfSection(&b)

	if len(r.Notes) > 0 || len(r.Logs) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(&b, "- %s\n", oneLine(n))
		}
		for _, n := range []string{"gateway-redis.log", "gateway-embedded.log"} {
			if s, ok := r.Logs[n]; ok {
				fmt.Fprintf(&b, "- %s: %.1f MiB of logs written during the run\n", n, float64(s)/(1<<20))
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// targetsTable is the report's section on the gateway's targets (each
// limit is in targets; bench/README.md "Targets" lists them).
func (r *report) targetsTable() string {
	var b strings.Builder
	b.WriteString("## Targets (Redis mode, the production path; embedded for information)\n\n")
	b.WriteString("The floor's column holds the floor proxy to the same budget: where the floor alone misses a budget over direct, this machine's round trips alone cost more than the budget, for any gateway that makes them (the floor makes only the two Redis round trips of a credit hold, which every gateway request makes too).\n\n")
	b.WriteString("| target | limit | floor alone | Redis mode | verdict | embedded mode | verdict |\n| --- | --- | --- | ---: | --- | ---: | --- |\n")
	for _, tg := range r.targets() {
		fmt.Fprintf(&b, "| %s | %s |", tg.name, tg.limit)
		if v, ok := tg.value("floor"); ok && !tg.vsFloor {
			fmt.Fprintf(&b, " %s, %s |", tg.show(v), tg.verdict(v))
		} else {
			b.WriteString(" — |")
		}
		for _, gw := range []string{"redis", "embedded"} {
			v, ok := tg.value(gw)
			if !ok {
				b.WriteString(" — | — |")
				continue
			}
			fmt.Fprintf(&b, " %s | %s |", tg.show(v), tg.verdict(v))
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
	return b.String()
}

type targetCheck struct {
	name, limit string
	value       func(gw string) (float64, bool)
	show        func(v float64) string
	verdict     func(v float64) string
	// vsFloor: the target is a share of the floor's figure, so the floor
	// has no value of its own to hold to it.
	vsFloor bool
}

func (r *report) targets() []targetCheck {
	added := func(sc string, pick func(loadgen.Result) time.Duration) func(string) (float64, bool) {
		return func(gw string) (float64, bool) {
			g, ok1 := r.res[sc][gw]
			d, ok2 := r.res[sc]["direct"]
			if !ok1 || !ok2 || g.Requests == 0 || d.Requests == 0 {
				return 0, false
			}
			return float64(pick(g) - pick(d)), true
		}
	}
	under := func(limit time.Duration) func(float64) string {
		return func(v float64) string {
			if time.Duration(v) <= limit {
				return "met"
			}
			return fmt.Sprintf("**missed** by %s (×%.1f the budget)", fmtDur(v-float64(limit)), v/float64(limit))
		}
	}
	showAdded := func(v float64) string { return "+" + fmtDur(v) }
	return []targetCheck{
		{"added latency c=1, p50", "≤ 350 µs", added("c1", p50), showAdded, under(350 * time.Microsecond), false},
		{"added latency c=1, p99", "≤ 1.5 ms", added("c1", p99), showAdded, under(1500 * time.Microsecond), false},
		{"throughput c=32 vs floor", "≥ 60 %", func(gw string) (float64, bool) {
			g, ok1 := r.res["c32"][gw]
			f, ok2 := r.res["c32"]["floor"]
			if !ok1 || !ok2 || f.Throughput() == 0 {
				return 0, false
			}
			return 100 * g.Throughput() / f.Throughput(), true
		}, func(v float64) string { return fmt.Sprintf("%.0f %%", v) }, func(v float64) string {
			if v >= 60 {
				return "met"
			}
			return fmt.Sprintf("**missed** by %.0f points", 60-v)
		}, true},
		{"stream TTFB overhead c=1, p50", "≤ 500 µs", added("s1", tp50), showAdded, under(500 * time.Microsecond), false},
		{"peak RSS after c=128", "≤ 100 MiB", func(gw string) (float64, bool) {
			v, ok := r.rss["c128"][gw]
			return float64(v) / 1024, ok && v > 0
		}, func(v float64) string { return fmt.Sprintf("%.1f MiB", v) }, func(v float64) string {
			if v <= 100 {
				return "met"
			}
			return fmt.Sprintf("**missed** by %.1f MiB", v-100)
		}, false},
	}
}

func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%d × %s%s, %s", runtime.NumCPU(), cpu, kernel, runtime.Version())
}

func relPath(root, p string) string {
	if rel, err := filepathRel(root, p); err == nil {
		return rel
	}
	return p
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", "\\|")
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

func filepathRel(root, p string) (string, error) { return filepath.Rel(root, p) }

// perfSection compares the floor's and the gateway's CPU per request by
// area, then details the gateway's hottest symbols and call subtrees.
func (r *report) perfSection(b *strings.Builder) {
	if len(r.Perf) == 0 {
		return
	}
	b.WriteString("## CPU profiles (perf, real binaries under load)\n\n")
	for _, p := range r.Perf {
		fmt.Fprintf(b, "- %s: %s; %s; %s of CPU per request.\n", p.Target, p.Load, p.Samples, fmtDur(float64(p.CPUPerRequest)))
	}
	b.WriteString("\nSelf time per request by area (share of the process's samples × its CPU per request):\n\n| area |")
	for _, p := range r.Perf {
		fmt.Fprintf(b, " %s |", p.Target)
	}
	b.WriteString("\n| --- |" + strings.Repeat(" ---: |", len(r.Perf)) + "\n")
	var names []string
	seen := map[string]bool{}
	for _, p := range r.Perf {
		for _, a := range p.Areas {
			if !seen[a.Name] {
				seen[a.Name] = true
				names = append(names, a.Name)
			}
		}
	}
	last := r.Perf[len(r.Perf)-1]
	share := func(p *profile, name string) float64 {
		for _, a := range p.Areas {
			if a.Name == name {
				return a.Pct
			}
		}
		return 0
	}
	// Order by the last profile (the gateway), biggest first.
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && share(last, names[j]) > share(last, names[j-1]); j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	for _, n := range names {
		small := true
		for _, p := range r.Perf {
			if p.perRequest(share(p, n)) >= time.Microsecond {
				small = false
			}
		}
		if small {
			continue
		}
		fmt.Fprintf(b, "| %s |", n)
		for _, p := range r.Perf {
			fmt.Fprintf(b, " %.1f µs (%.1f %%) |", float64(p.perRequest(share(p, n)))/1e3, share(p, n))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "\n%s, hottest symbols by self time:\n\n| self | per request | symbol |\n| ---: | ---: | --- |\n", last.Target)
	for _, s := range last.Self {
		fmt.Fprintf(b, "| %.2f %% | %.1f µs | `%s` |\n", s.Pct, float64(last.perRequest(s.Pct))/1e3, s.Name)
	}
	fmt.Fprintf(b, "\n%s, the request path's own call subtrees (inclusive time):\n\n| inclusive | per request | symbol |\n| ---: | ---: | --- |\n", last.Target)
	n := 0
	for _, s := range last.Children {
		if !strings.Contains(s.Name, "resayil/portal") && !strings.HasPrefix(s.Name, "encoding/json.Unmarshal") &&
			!strings.HasPrefix(s.Name, "encoding/json.Marshal") && !strings.HasPrefix(s.Name, "log/slog.(*Logger).Info") &&
			!strings.HasPrefix(s.Name, "runtime.sysmon") && !strings.HasPrefix(s.Name, "net/http.(*persistConn).writeLoop") &&
			!strings.HasPrefix(s.Name, "net/http.(*persistConn).readLoop") && !strings.HasPrefix(s.Name, "runtime.gcBgMarkWorker") &&
			!strings.HasPrefix(s.Name, "github.com/redis/go-redis/v9.(*Script).Run") && !strings.HasPrefix(s.Name, "runtime.mallocgc") {
			continue
		}
		if n++; n > 40 {
			break
		}
		fmt.Fprintf(b, "| %.2f %% | %.1f µs | `%s` |\n", s.Pct, float64(last.perRequest(s.Pct))/1e3, s.Name)
	}
	for _, p := range r.Perf {
		if p.File != "" {
			fmt.Fprintf(b, "\nFull lists for %s: `%s`.", p.Target, relPath(r.Opts.root, p.File))
		}
	}
	b.WriteString("\n\n")
}

// sourceVersion names the commit the binaries were built from and whether
// the product folders had uncommitted changes (read-only git commands).
func sourceVersion(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return "unknown commit"
	}
	v := "commit " + strings.TrimSpace(string(out))
	dirty := exec.Command("git", "-C", root, "diff", "--quiet", "HEAD", "--", "gateway", "pkg", "migrations").Run() != nil
	untracked, _ := exec.Command("git", "-C", root, "ls-files", "--others", "--exclude-standard", "--", "gateway", "pkg", "migrations").Output()
	if dirty || len(strings.TrimSpace(string(untracked))) > 0 {
		v += " plus uncommitted changes in gateway/, pkg/ or migrations/ (the working tree as built)"
	}
	return v
}

// floorClient names the floor's client for non-streaming calls.
func floorClient(o *options) string {
	if o.floorFast {
		return "fasthttp's HostClient, as the gateway's (`-floor-fasthttp`)"
	}
	return "net/http, as defined (the gateway uses fasthttp's, ADR 8; `-floor-fasthttp` runs the floor on it)"
}
