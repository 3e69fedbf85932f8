package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// goBenchPackages hold the hot path's benchmarks: request parsing and
// rewriting, warm key authentication, the SSE relay, the in-process and
// Redis rate limiters, and the Redis wallet's hold and settle.
var goBenchPackages = []string{
	"./gateway/internal/chat",
	"./gateway/internal/keyauth",
	"./gateway/internal/relay",
	"./pkg/ratelimit/ratelimitmem",
	"./pkg/ratelimit/ratelimitredis",
	"./pkg/wallet/walletredis",
}

type goBench struct {
	Pkg, Name           string
	NsOp, BOp, AllocsOp float64
	Extra               string // custom metrics (ns/event, MB/s)
}

// goBenchmarks runs `go test -run '^$' -bench . -benchmem` on the hot path
// packages one at a time (-p 1: the benchmarks would share the two cores
// otherwise), after every load process has stopped.
func goBenchmarks(ctx context.Context, o *options) ([]goBench, error) {
	args := append([]string{"test", "-p", "1", "-count", "1", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", o.benchtime}, goBenchPackages...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = o.root
	cmd.Env = env([]string{"GOWORK"})
	out, err := cmd.CombinedOutput()
	res := parseGoBench(string(out))
	if err != nil {
		tail := string(out)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return res, fmt.Errorf("go test: %v\n%s", err, tail)
	}
	return res, nil
}

func parseGoBench(out string) []goBench {
	var res []goBench
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(strings.TrimSpace(p), "github.com/resayil/portal/")
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		b := goBench{Pkg: pkg, Name: f[0]}
		var extra []string
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				b.NsOp = v
			case "B/op":
				b.BOp = v
			case "allocs/op":
				b.AllocsOp = v
			default:
				extra = append(extra, f[i]+" "+f[i+1])
			}
		}
		b.Extra = strings.Join(extra, ", ")
		res = append(res, b)
	}
	return res
}
