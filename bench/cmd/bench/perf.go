package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/bench/loadgen"
)

// profile is a CPU profile of the Redis-mode gateway under load, read from
// perf: the hottest symbols by self time, the heaviest by inclusive time,
// and self time summed by area (package).
type profile struct {
	Target   string
	Load     string
	Samples  string
	Self     []symbolShare
	Children []symbolShare
	Areas    []symbolShare
	File     string
	// CPUPerRequest is the process's CPU time per request during the
	// profile (schedstat), which turns percentages into time per request.
	CPUPerRequest time.Duration
}

// perRequest converts a share of the profile into CPU time per request.
func (p *profile) perRequest(pct float64) time.Duration {
	return time.Duration(pct / 100 * float64(p.CPUPerRequest))
}

type symbolShare struct {
	Pct  float64
	Name string
}

const perfWindow = 6 * time.Second

// perfProfile samples the gateway with `perf record -g` while the load
// generator drives it at concurrency 32 (the throughput target's load).
// The real binary is profiled as it runs in production: no pprof endpoint.
func perfProfile(ctx context.Context, o *options, p *proc, t target, hdr map[string]string) (*profile, error) {
	if _, err := exec.LookPath("perf"); err != nil {
		return nil, fmt.Errorf("perf not installed")
	}
	data := filepath.Join(o.tmp, "perf-"+t.key+".data")
	rec := exec.CommandContext(ctx, "perf", "record", "-F", "1999", "-g", "-p", strconv.Itoa(p.pid()), "-o", data,
		"--", "sleep", strconv.Itoa(int(perfWindow/time.Second)))
	recLog, err := os.Create(filepath.Join(o.tmp, "perf-record-"+t.key+".log"))
	if err != nil {
		return nil, err
	}
	defer recLog.Close()
	rec.Stdout, rec.Stderr = recLog, recLog
	logf("profiling %s with perf for %s at concurrency 32", t.title, perfWindow)
	if err := rec.Start(); err != nil {
		return nil, err
	}
	var cpu0 time.Duration
	res, lerr := loadgen.Run(loadgen.Config{URL: t.url, Body: []byte(bodyPlain), Header: hdr, Concurrency: 32,
		Warmup: 200 * time.Millisecond, Duration: perfWindow - 400*time.Millisecond, Begin: func() { cpu0 = processCPU(p.pid()) }})
	cpu := processCPU(p.pid()) - cpu0
	if err := rec.Wait(); err != nil {
		b, _ := os.ReadFile(recLog.Name())
		return nil, fmt.Errorf("perf record: %v: %s", err, strings.TrimSpace(string(b)))
	}
	if lerr != nil {
		return nil, lerr
	}
	prof := &profile{Target: t.title, Load: fmt.Sprintf("concurrency 32, %s, %.0f req/s during the profile", perfWindow, res.Throughput())}
	if res.Requests > 0 {
		prof.CPUPerRequest = cpu / time.Duration(res.Requests)
	}
	self, header, err := perfReport(ctx, data, "--no-children")
	if err != nil {
		return nil, err
	}
	prof.Samples = header
	children, _, err := perfReport(ctx, data, "--children")
	if err != nil {
		return nil, err
	}
	areas := map[string]float64{}
	for _, s := range self {
		areas[area(s.Name)] += s.Pct
	}
	for k, v := range areas {
		prof.Areas = append(prof.Areas, symbolShare{Pct: v, Name: k})
	}
	sort.Slice(prof.Areas, func(i, j int) bool { return prof.Areas[i].Pct > prof.Areas[j].Pct })
	prof.Self = top(self, 25)
	prof.Children = filterChildren(children)
	// Keep the full flat report beside latest.md for whoever digs further.
	full := filepath.Join(filepath.Dir(o.out), "perf-"+t.key+".txt")
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err == nil {
		var b strings.Builder
		fmt.Fprintf(&b, "perf profile of %s, %s, %s CPU per request\n%s\n\n# self\n", t.title, prof.Load, prof.CPUPerRequest, header)
		for _, s := range self {
			fmt.Fprintf(&b, "%6.2f%%  %s\n", s.Pct, s.Name)
		}
		b.WriteString("\n# children (inclusive)\n")
		for _, s := range children {
			fmt.Fprintf(&b, "%6.2f%%  %s\n", s.Pct, s.Name)
		}
		if os.WriteFile(full, []byte(b.String()), 0o644) == nil {
			prof.File = full
		}
	}
	return prof, nil
}

// trailingDashes are perf's empty srcline/IPC columns after a symbol.
var trailingDashes = regexp.MustCompile(`(\s+-)+\s*$`)

var perfLine = regexp.MustCompile(`^\s*([0-9.]+)%\s+(?:[0-9.]+%\s+)?\[([.k])\]\s+(.+?)\s*$`)

// perfReport runs perf report by symbol without call graphs and parses its
// percentages.
func perfReport(ctx context.Context, data, mode string) ([]symbolShare, string, error) {
	cmd := exec.CommandContext(ctx, "perf", "report", "-i", data, "--stdio", mode, "--sort", "symbol", "-g", "none", "--percent-limit", "0.01")
	out, err := cmd.Output()
	if err != nil {
		return nil, "", fmt.Errorf("perf report: %w", err)
	}
	var shares []symbolShare
	var header string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "# Samples:") {
			header = strings.TrimPrefix(line, "# ")
		}
		m := perfLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pct, _ := strconv.ParseFloat(m[1], 64)
		name := strings.TrimSpace(trailingDashes.ReplaceAllString(m[3], ""))
		if m[2] == "k" {
			name = "[kernel] " + name
		}
		shares = append(shares, symbolShare{Pct: pct, Name: name})
	}
	if len(shares) == 0 {
		return nil, "", fmt.Errorf("perf report had no samples")
	}
	return shares, header, nil
}

func top(s []symbolShare, n int) []symbolShare {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// filterChildren keeps the inclusive entries that say something about the
// request path: the gateway's and pkg's own functions and the libraries
// they call, not the runtime's entry points that include everything.
func filterChildren(s []symbolShare) []symbolShare {
	var out []symbolShare
	for _, x := range s {
		n := x.Name
		if strings.HasPrefix(n, "runtime.goexit") || strings.HasPrefix(n, "runtime.main") || strings.HasPrefix(n, "runtime.mstart") ||
			strings.HasPrefix(n, "0x") || n == "[unknown]" {
			continue
		}
		out = append(out, x)
	}
	return out
}

// area groups a symbol by what it belongs to.
func area(sym string) string {
	s := sym
	switch {
	case strings.HasPrefix(s, "[kernel] "):
		return "kernel (TCP loopback, syscalls, scheduling)"
	case strings.Contains(s, "resayil/portal/gateway/internal/"):
		rest := s[strings.Index(s, "gateway/internal/")+len("gateway/internal/"):]
		return "gateway/" + strings.SplitN(rest, ".", 2)[0]
	case strings.Contains(s, "resayil/portal/pkg/"):
		rest := s[strings.Index(s, "portal/pkg/")+len("portal/pkg/"):]
		return "pkg/" + strings.SplitN(rest, ".", 2)[0]
	case strings.HasPrefix(s, "runtime.mallocgc") || strings.HasPrefix(s, "runtime.(*mcache)") || strings.HasPrefix(s, "runtime.(*mheap)") ||
		strings.HasPrefix(s, "runtime.(*mspan)") || strings.HasPrefix(s, "runtime.memclr") || strings.HasPrefix(s, "runtime.growslice") ||
		strings.HasPrefix(s, "runtime.newobject") || strings.HasPrefix(s, "runtime.makeslice") || strings.HasPrefix(s, "runtime.nextFreeFast"):
		return "runtime: allocation"
	case strings.HasPrefix(s, "runtime.gc") || strings.HasPrefix(s, "runtime.scan") || strings.HasPrefix(s, "runtime.mark") ||
		strings.HasPrefix(s, "runtime.greyobject") || strings.HasPrefix(s, "runtime.findObject") || strings.HasPrefix(s, "runtime.(*gcWork)") ||
		strings.HasPrefix(s, "runtime.(*gcBits)") || strings.HasPrefix(s, "runtime.sweep") || strings.HasPrefix(s, "runtime.(*sweepLocked)") ||
		strings.HasPrefix(s, "runtime.wbBuf") || strings.HasPrefix(s, "runtime.bgsweep") || strings.HasPrefix(s, "gcWriteBarrier") ||
		strings.HasPrefix(s, "runtime.(*gcControllerState)") || strings.HasPrefix(s, "runtime.typePointers") || strings.HasPrefix(s, "runtime.(*mspan).typePointers"):
		return "runtime: GC"
	case strings.HasPrefix(s, "runtime."):
		return "runtime: scheduler, syscalls, other"
	case strings.HasPrefix(s, "syscall.") || strings.HasPrefix(s, "internal/poll.") || strings.HasPrefix(s, "internal/runtime/syscall"):
		return "syscall wrappers"
	case strings.HasPrefix(s, "net/http."):
		return "net/http (upstream client)"
	case strings.HasPrefix(s, "net.") || strings.HasPrefix(s, "net/"):
		return "net"
	case strings.Contains(s, "valyala/fasthttp"):
		return "fasthttp (server)"
	case strings.Contains(s, "gofiber/fiber"):
		return "fiber"
	case strings.Contains(s, "redis/go-redis"):
		return "go-redis"
	case strings.HasPrefix(s, "encoding/json."):
		return "encoding/json"
	case strings.HasPrefix(s, "log/slog.") || strings.HasPrefix(s, "fmt.") || strings.HasPrefix(s, "strconv."):
		return "log/slog, fmt, strconv"
	case strings.HasPrefix(s, "crypto/") || strings.HasPrefix(s, "vendor/golang.org/x/crypto"):
		return "crypto (sha256, rand)"
	case strings.Contains(s, "prometheus"):
		return "prometheus metrics"
	case strings.HasPrefix(s, "sync.") || strings.HasPrefix(s, "internal/sync.") || strings.HasPrefix(s, "sync/atomic."):
		return "sync"
	case strings.HasPrefix(s, "time.") || strings.HasPrefix(s, "context."):
		return "time, context"
	case !strings.Contains(s, "."):
		return "other native"
	}
	if i := strings.LastIndex(s, "/"); i > 0 {
		s = s[:i+1] + strings.SplitN(s[i+1:], ".", 2)[0]
		return s
	}
	return strings.SplitN(s, ".", 2)[0]
}
