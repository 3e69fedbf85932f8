package main

import (
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/bench/loadgen"
)

func res(requests, errors int) loadgen.Result {
	return loadgen.Result{Requests: requests, Errors: errors, Elapsed: time.Second}
}

// Of several rounds the report keeps the least disturbed one, and of
// rounds equally undisturbed the fastest, whatever their order.
func TestReportKeepsTheLeastDisturbedThenTheFastestRound(t *testing.T) {
	for _, c := range []struct {
		name   string
		rounds []loadgen.Result
		cpu    []float64
		want   int // requests of the kept round
	}{
		{"equally undisturbed: the fastest, first", []loadgen.Result{res(9000, 0), res(7000, 0), res(8000, 0)}, []float64{0, 0, 0.01}, 9000},
		{"equally undisturbed: the fastest, last", []loadgen.Result{res(7000, 0), res(8000, 0), res(9000, 0)}, []float64{0.01, 0, 0}, 9000},
		{"a disturbed round loses to a slower undisturbed one", []loadgen.Result{res(9000, 0), res(7000, 0)}, []float64{0.3, 0}, 7000},
		{"errors lose first", []loadgen.Result{res(9000, 1), res(7000, 0)}, []float64{0, 0.5}, 7000},
	} {
		var r report
		for i, rr := range c.rounds {
			r.add("sc", "floor", rr, cpuUse{Foreign: c.cpu[i]})
		}
		if got := r.res["sc"]["floor"].Requests; got != c.want {
			t.Errorf("%s: kept the round of %d requests, want %d", c.name, got, c.want)
		}
		if r.rounds["sc"]["floor"] != len(c.rounds) {
			t.Errorf("%s: %d rounds counted", c.name, r.rounds["sc"]["floor"])
		}
	}
}

// The targets table holds the floor to the budgets over direct too, so a
// machine whose round trips alone exceed a budget shows it.
func TestTargetsShowTheFloorAgainstTheBudgets(t *testing.T) {
	lat := func(p50 time.Duration) loadgen.Result {
		r := res(1000, 0)
		r.Latency.P50, r.Latency.P99 = p50, 2*p50
		return r
	}
	var r report
	r.add("c1", "direct", lat(100*time.Microsecond), cpuUse{})
	r.add("c1", "floor", lat(480*time.Microsecond), cpuUse{})
	r.add("c1", "redis", lat(650*time.Microsecond), cpuUse{})
	r.add("c32", "floor", res(9000, 0), cpuUse{})
	r.add("c32", "redis", res(6000, 0), cpuUse{})
	rows := map[string]string{}
	for _, tg := range r.targets() {
		v, ok := tg.value("floor")
		if !ok || tg.vsFloor {
			rows[tg.name] = "—"
			continue
		}
		rows[tg.name] = tg.show(v) + ", " + tg.verdict(v)
	}
	for name, want := range map[string]string{
		"added latency c=1, p50":   "+380 µs, **missed** by 30 µs (×1.1 the budget)",
		"added latency c=1, p99":   "+760 µs, met",
		"throughput c=32 vs floor": "—",
	} {
		if rows[name] != want {
			t.Errorf("%s: floor shows %q, want %q", name, rows[name], want)
		}
	}
	md := r.targetsTable()
	if !strings.Contains(md, "| added latency c=1, p50 | ≤ 350 µs | +380 µs, **missed** by 30 µs (×1.1 the budget) | +550 µs |") {
		t.Errorf("targets table:\n%s", md)
	}
}
