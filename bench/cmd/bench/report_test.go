package main

import (
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
