package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/stat (USER_HZ, 100 on every Linux build
// that matters here).
const userHZ = 100

// cpuWatch samples CPU time of the benchmark's own processes (schedstat,
// nanoseconds, summed over threads) and of the whole machine (/proc/stat),
// so that each measurement says what it cost per request and how much CPU
// something outside the benchmark took meanwhile (other work on a shared
// machine makes every figure noisier).
type cpuWatch struct {
	pids map[string]int
}

type cpuSnap struct {
	at        time.Time
	busy, all uint64 // jiffies
	procs     map[string]time.Duration
	switches  map[string]int64
	rw        map[string]int64
}

// cpuUse is what happened between two snapshots.
type cpuUse struct {
	Wall time.Duration
	// Busy is the machine's busy CPU over the window, in cores.
	Busy float64
	// Procs is the CPU time of each watched process.
	Procs map[string]time.Duration
	// Foreign is the busy CPU no watched process accounts for, in cores.
	Foreign float64
	// Switches counts each watched process's context switches (voluntary
	// and not, all threads).
	Switches map[string]int64
	// ReadWrites counts each watched process's read and write system calls
	// (/proc/<pid>/io syscr + syscw: socket reads and writes, log writes).
	ReadWrites map[string]int64
}

func (w *cpuWatch) snap() cpuSnap {
	s := cpuSnap{at: time.Now(), procs: map[string]time.Duration{}, switches: map[string]int64{}, rw: map[string]int64{}}
	s.busy, s.all = systemJiffies()
	for name, pid := range w.pids {
		s.procs[name] = processCPU(pid)
		s.switches[name] = contextSwitches(pid)
		s.rw[name] = readWrites(pid)
	}
	return s
}

func (a cpuSnap) to(b cpuSnap) cpuUse {
	u := cpuUse{Wall: b.at.Sub(a.at), Procs: map[string]time.Duration{}, Switches: map[string]int64{}, ReadWrites: map[string]int64{}}
	for name, v := range b.rw {
		u.ReadWrites[name] = v - a.rw[name]
	}
	for name, v := range b.switches {
		u.Switches[name] = v - a.switches[name]
	}
	if u.Wall <= 0 {
		return u
	}
	u.Busy = float64(b.busy-a.busy) / userHZ / u.Wall.Seconds()
	var ours time.Duration
	for name, v := range b.procs {
		d := v - a.procs[name]
		u.Procs[name] = d
		ours += d
	}
	u.Foreign = max(u.Busy-ours.Seconds()/u.Wall.Seconds(), 0)
	return u
}

// systemJiffies returns busy and total jiffies of all CPUs.
func systemJiffies() (busy, all uint64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0, 0
	}
	var idle uint64
	for i, x := range f[1:] {
		v, _ := strconv.ParseUint(x, 10, 64)
		if i >= 8 { // guest time is already inside user
			break
		}
		all += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return all - idle, all
}

// processCPU sums the on-CPU time of every thread of pid.
func processCPU(pid int) time.Duration {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/schedstat")
	var sum time.Duration
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			v, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(v)
		}
	}
	return sum
}

// contextSwitches sums voluntary and involuntary context switches of every
// thread of pid.
func contextSwitches(pid int) int64 {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/status")
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// readWrites is syscr + syscw of pid: its read and write system calls.
func readWrites(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		return 0
	}
	var sum int64
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "syscr" || k == "syscw") {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			sum += n
		}
	}
	return sum
}
