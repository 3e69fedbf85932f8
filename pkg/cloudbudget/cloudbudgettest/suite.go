// Package cloudbudgettest is the conformance suite every cloudbudget.Store
// implementation runs (docs/architecture.md "Two ways to run"): the same
// behaviours, concurrency included, against Redis, SQLite and MariaDB, so
// that the gateway and portal-api's operator command behave the same in both
// modes.
//
//	func TestConformance(t *testing.T) {
//		cloudbudgettest.RunConformance(t, func(t *testing.T, defaultCap int64) cloudbudget.Store { ... })
//	}
//
// Each subtest uses days no other subtest uses, so implementations may share
// one database or Redis prefix between subtests.
package cloudbudgettest

import (
	"context"
	"crypto/rand"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/resayil"
)

// NewStore returns the implementation under test with the given default
// cap for days without a record. Every store it returns during one
// RunConformance shares one backing store (one database, one Redis prefix):
// the subtests never share a day.
type NewStore func(t *testing.T, defaultCap int64) cloudbudget.Store

// RunConformance runs every behaviour of the Store contract as a subtest.
func RunConformance(t *testing.T, newStore NewStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, newStore NewStore)
	}{
		{"NewDayHasDefaultCap", testNewDay},
		{"TakeStopsAtCap", testTakeStopsAtCap},
		{"TakeIsExact_Concurrent", testTakeConcurrent},
		{"DaysAreIndependent", testDaysIndependent},
		{"FirstWriteFreezesDefaultCap", testFirstWriteFreezes},
		{"SetCapRaisesAndLowers", testSetCap},
		{"SetCapConcurrentWithTakes", testSetCapConcurrent},
		{"RefundGivesBackNeverBelowZero", testRefund},
		{"ZeroCapIsOff", testZeroCap},
		{"InvalidInput", testInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore) })
	}
}

var dayMu sync.Mutex
var usedDays = map[cloudbudget.Day]bool{}

// NewDay returns a date in the far future no other caller in this process
// got, so tests sharing a store never share a day.
func NewDay(t testing.TB) cloudbudget.Day {
	t.Helper()
	dayMu.Lock()
	defer dayMu.Unlock()
	for {
		n, err := rand.Int(rand.Reader, big.NewInt(300_000))
		if err != nil {
			t.Fatal(err)
		}
		d := cloudbudget.DayOf(time.Date(2200, 1, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, int(n.Int64())))
		if !usedDays[d] {
			usedDays[d] = true
			return d
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func want(t *testing.T, got cloudbudget.State, day cloudbudget.Day, limit, used int64) {
	t.Helper()
	if got != (cloudbudget.State{Day: day, Cap: limit, Used: used}) {
		t.Fatalf("state %+v, want day %s cap %d used %d", got, day, limit, used)
	}
}

func take(t *testing.T, s cloudbudget.Store, day cloudbudget.Day) (cloudbudget.State, bool) {
	t.Helper()
	st, ok, err := s.Take(ctx(t), day)
	if err != nil {
		t.Fatalf("Take(%s): %v", day, err)
	}
	return st, ok
}

func get(t *testing.T, s cloudbudget.Store, day cloudbudget.Day) cloudbudget.State {
	t.Helper()
	st, err := s.Get(ctx(t), day)
	if err != nil {
		t.Fatalf("Get(%s): %v", day, err)
	}
	return st
}

func setCap(t *testing.T, s cloudbudget.Store, day cloudbudget.Day, limit int64) cloudbudget.State {
	t.Helper()
	st, err := s.SetCap(ctx(t), day, limit)
	if err != nil {
		t.Fatalf("SetCap(%s, %d): %v", day, limit, err)
	}
	return st
}

func testNewDay(t *testing.T, newStore NewStore) {
	s := newStore(t, 500)
	d := NewDay(t)
	want(t, get(t, s, d), d, 500, 0)
	// Get changes nothing.
	want(t, get(t, s, d), d, 500, 0)
}

func testTakeStopsAtCap(t *testing.T, newStore NewStore) {
	s := newStore(t, 3)
	d := NewDay(t)
	for i := int64(1); i <= 3; i++ {
		st, ok := take(t, s, d)
		if !ok {
			t.Fatalf("take %d refused", i)
		}
		want(t, st, d, 3, i)
	}
	for range 2 {
		st, ok := take(t, s, d)
		if ok {
			t.Fatal("a take beyond the cap was granted")
		}
		want(t, st, d, 3, 3)
	}
	if st := get(t, s, d); st.Room() || st.Remaining() != 0 || st.Percent() != 100 || !st.Reached(cloudbudget.Alert100) {
		t.Fatalf("exhausted state %+v", st)
	}
}

// 600 concurrent takes against a cap of 500 take exactly 500, and the
// states returned by the granted takes are exactly 1..500 (each one
// observes its own increment, which is what the gateway's alerts rely on).
func testTakeConcurrent(t *testing.T, newStore NewStore) {
	const limit, n = 500, 600
	s := newStore(t, limit)
	d := NewDay(t)
	var granted atomic.Int64
	seen := make([]atomic.Int32, limit+1)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			st, ok, err := s.Take(ctx(t), d)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				granted.Add(1)
				if st.Used < 1 || st.Used > limit {
					t.Errorf("granted take saw used %d", st.Used)
					return
				}
				seen[st.Used].Add(1)
			} else if st.Used != limit {
				t.Errorf("refused take saw used %d, want %d", st.Used, limit)
			}
		})
	}
	close(start)
	wg.Wait()
	if g := granted.Load(); g != limit {
		t.Fatalf("%d of %d concurrent takes granted against a cap of %d", g, n, limit)
	}
	for i := 1; i <= limit; i++ {
		if c := seen[i].Load(); c != 1 {
			t.Fatalf("used=%d was returned to %d takes, want exactly 1", i, c)
		}
	}
	want(t, get(t, s, d), d, limit, limit)
}

func testDaysIndependent(t *testing.T, newStore NewStore) {
	s := newStore(t, 1)
	d1, d2 := NewDay(t), NewDay(t)
	if _, ok := take(t, s, d1); !ok {
		t.Fatal("refused")
	}
	if _, ok := take(t, s, d1); ok {
		t.Fatal("second take on a cap of 1")
	}
	st, ok := take(t, s, d2)
	if !ok {
		t.Fatal("another day's budget is shared")
	}
	want(t, st, d2, 1, 1)
	setCap(t, s, d1, 5)
	want(t, get(t, s, d2), d2, 1, 1)
}

// The default cap of the process that first writes a day is the day's cap:
// a store with another default (a replica with other settings, the operator
// command) sees the same.
func testFirstWriteFreezes(t *testing.T, newStore NewStore) {
	a := newStore(t, 10)
	d := NewDay(t)
	take(t, a, d)
	b := newStore(t, 20)
	want(t, get(t, b, d), d, 10, 1)
	if st, ok := take(t, b, d); !ok || st.Cap != 10 || st.Used != 2 {
		t.Fatalf("take through another store: %+v %v", st, ok)
	}
}

func testSetCap(t *testing.T, newStore NewStore) {
	s := newStore(t, 2)
	d := NewDay(t)
	take(t, s, d)
	take(t, s, d)
	if _, ok := take(t, s, d); ok {
		t.Fatal("take beyond the cap")
	}
	want(t, setCap(t, s, d, 4), d, 4, 2)
	for i := int64(3); i <= 4; i++ {
		if st, ok := take(t, s, d); !ok || st.Used != i {
			t.Fatalf("after raising: %+v %v", st, ok)
		}
	}
	// Lowering below what is used leaves it used and the day exhausted.
	want(t, setCap(t, s, d, 1), d, 1, 4)
	if _, ok := take(t, s, d); ok {
		t.Fatal("take after lowering the cap below used")
	}
	// SetCap on a day without a record creates it.
	d2 := NewDay(t)
	want(t, setCap(t, s, d2, 7), d2, 7, 0)
	want(t, get(t, s, d2), d2, 7, 0)
	if st, ok := take(t, s, d2); !ok || st.Cap != 7 || st.Used != 1 {
		t.Fatalf("take on a day whose cap was set: %+v %v", st, ok)
	}
}

// A cap raised while takes run concurrently lets exactly the new cap
// through, never more.
func testSetCapConcurrent(t *testing.T, newStore NewStore) {
	s := newStore(t, 50)
	d := NewDay(t)
	var granted atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 200 {
		wg.Go(func() {
			<-start
			if _, ok, err := s.Take(ctx(t), d); err != nil {
				t.Error(err)
			} else if ok {
				granted.Add(1)
			}
		})
	}
	wg.Go(func() {
		<-start
		if _, err := s.SetCap(ctx(t), d, 120); err != nil {
			t.Error(err)
		}
	})
	close(start)
	wg.Wait()
	st := get(t, s, d)
	if st.Cap != 120 || st.Used != granted.Load() || st.Used < 50 || st.Used > 120 {
		t.Fatalf("state %+v with %d granted", st, granted.Load())
	}
}

func testRefund(t *testing.T, newStore NewStore) {
	s := newStore(t, 2)
	d := NewDay(t)
	take(t, s, d)
	take(t, s, d)
	st, err := s.Refund(ctx(t), d)
	if err != nil {
		t.Fatal(err)
	}
	want(t, st, d, 2, 1)
	if _, ok := take(t, s, d); !ok {
		t.Fatal("a refunded request is not available again")
	}
	for range 3 {
		if _, err := s.Refund(ctx(t), d); err != nil {
			t.Fatal(err)
		}
	}
	want(t, get(t, s, d), d, 2, 0)
	// Refund on a day without a record changes nothing.
	d2 := NewDay(t)
	if _, err := s.Refund(ctx(t), d2); err != nil {
		t.Fatal(err)
	}
	want(t, get(t, s, d2), d2, 2, 0)
}

func testZeroCap(t *testing.T, newStore NewStore) {
	s := newStore(t, 0)
	d := NewDay(t)
	if st, ok := take(t, s, d); ok || st.Room() || st.Reached(cloudbudget.Alert80) {
		t.Fatalf("zero cap: %+v %v", st, ok)
	}
}

func testInvalid(t *testing.T, newStore NewStore) {
	s := newStore(t, 5)
	for _, d := range []cloudbudget.Day{"", "2026-13-01", "2026-1-1", "tomorrow", "2026-01-01x"} {
		if _, _, err := s.Take(ctx(t), d); resayil.ErrorCode(err) != resayil.EINVALID {
			t.Errorf("Take(%q): %v, want invalid", d, err)
		}
		if _, err := s.Get(ctx(t), d); resayil.ErrorCode(err) != resayil.EINVALID {
			t.Errorf("Get(%q): %v, want invalid", d, err)
		}
	}
	d := NewDay(t)
	for _, c := range []int64{-1, cloudbudget.MaxCap + 1} {
		if _, err := s.SetCap(ctx(t), d, c); resayil.ErrorCode(err) != resayil.EINVALID {
			t.Errorf("SetCap(%d): %v, want invalid", c, err)
		}
	}
	want(t, get(t, s, d), d, 5, 0)
}
