package capacity_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/capacity/capacitymem"
)

// countingStore counts the Enter calls a Pool makes itself.
type countingStore struct {
	capacity.Store
	enters atomic.Int32
}

func (s *countingStore) Enter(ctx context.Context, hs []capacity.Host, e capacity.Entry) (capacity.Outcome, error) {
	s.enters.Add(1)
	return s.Store.Enter(ctx, hs, e)
}

func earlyPool(t *testing.T, slots int) (*capacity.Pool, *countingStore) {
	t.Helper()
	st := &countingStore{Store: capacitymem.New(capacitymem.Config{})}
	hs := []capacity.Host{{ID: "a", Slots: slots}}
	p := capacity.NewPool(capacity.PoolConfig{Store: st, Hosts: func() []capacity.Host { return hs }, PollInterval: 10 * time.Millisecond})
	return p, st
}

// sendEarly does what the gateway's pipeline does with an Early: run its
// Enter on the store and Set the answer.
func sendEarly(t *testing.T, st capacity.Store, e *capacity.Early) {
	t.Helper()
	e.Set(st.Enter(context.Background(), e.Hosts(), e.Entry()))
}

func inFlight(t *testing.T, p *capacity.Pool) int {
	t.Helper()
	s, err := p.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.InFlight["a"]
}

func TestEarly_GrantedSlotIsTakenWithoutAnotherEnter(t *testing.T) {
	p, st := earlyPool(t, 1)
	r := capacity.Request{ID: "r1", Hosts: []string{"a"}, Wait: time.Second}
	e := p.Early(r)
	if e.Entry().Mode != capacity.NoWait {
		t.Fatalf("early entry mode %v, want NoWait (it must never queue)", e.Entry().Mode)
	}
	sendEarly(t, st.Store, e)
	s, err := p.AcquireEarly(context.Background(), r, e)
	if err != nil {
		t.Fatal(err)
	}
	if n := st.enters.Load(); n != 0 {
		t.Fatalf("the pool called Enter %d times, want 0 (the early entry's slot)", n)
	}
	if s.Host != "a" || p.Held() != 1 || inFlight(t, p) != 1 {
		t.Fatalf("slot on %q, pool holds %d, store counts %d; want a, 1, 1", s.Host, p.Held(), inFlight(t, p))
	}
	e.Cancel() // after the take: a no-op
	if inFlight(t, p) != 1 {
		t.Fatal("Cancel after the slot was taken freed it")
	}
	s.Release()
	if inFlight(t, p) != 0 || p.Held() != 0 {
		t.Fatalf("after Release: store counts %d, pool holds %d", inFlight(t, p), p.Held())
	}
}

func TestEarly_CancelFreesTheSlot(t *testing.T) {
	p, st := earlyPool(t, 1)
	e := p.Early(capacity.Request{ID: "refused", Hosts: []string{"a"}})
	sendEarly(t, st.Store, e)
	if inFlight(t, p) != 1 {
		t.Fatal("the early entry was not granted the free slot")
	}
	e.Cancel()
	e.Cancel()
	if inFlight(t, p) != 0 || p.Held() != 0 {
		t.Fatalf("after Cancel: store counts %d, pool holds %d, want 0", inFlight(t, p), p.Held())
	}
	// A cancelled entry is not taken afterwards.
	r := capacity.Request{ID: "refused", Hosts: []string{"a"}, Wait: time.Second}
	s, err := p.AcquireEarly(context.Background(), r, e)
	if err != nil {
		t.Fatal(err)
	}
	if st.enters.Load() != 1 {
		t.Fatalf("Enter called %d times after a cancelled early entry, want 1", st.enters.Load())
	}
	s.Release()
}

func TestEarly_BusyFallsBackToTheQueue(t *testing.T) {
	p, st := earlyPool(t, 1)
	holder, err := p.Acquire(context.Background(), capacity.Request{ID: "holder", Hosts: []string{"a"}, Wait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r := capacity.Request{ID: "late", Hosts: []string{"a"}, Wait: 5 * time.Second}
	e := p.Early(r)
	sendEarly(t, st.Store, e)
	if s, _ := p.Stats(context.Background()); len(s.Waiting) != 0 {
		t.Fatalf("a busy early entry queued: %v", s.Waiting)
	}
	got := make(chan error, 1)
	go func() {
		s, err := p.AcquireEarly(context.Background(), r, e)
		if err == nil {
			s.Release()
		}
		got <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, _ := p.Stats(context.Background())
		if s.Waiting[0] == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the request never queued after its early entry found no slot")
		}
		time.Sleep(time.Millisecond)
	}
	holder.Release()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if inFlight(t, p) != 0 {
		t.Fatalf("%d slots taken at the end", inFlight(t, p))
	}
}

func TestEarly_OtherIDOrFailureIsNotTaken(t *testing.T) {
	p, st := earlyPool(t, 2)
	e := p.Early(capacity.Request{ID: "first", Hosts: []string{"a"}})
	sendEarly(t, st.Store, e)
	// Another id (a retry attempt) gives the early slot back and enters.
	s, err := p.AcquireEarly(context.Background(), capacity.Request{ID: "first.1", Hosts: []string{"a"}, Wait: time.Second}, e)
	if err != nil {
		t.Fatal(err)
	}
	if inFlight(t, p) != 1 || st.enters.Load() != 1 {
		t.Fatalf("store counts %d slots after %d Enter calls, want 1 and 1", inFlight(t, p), st.enters.Load())
	}
	s.Release()

	// A store failure on the early entry: Acquire enters itself.
	f := p.Early(capacity.Request{ID: "second", Hosts: []string{"a"}})
	f.Set(capacity.Outcome{}, errors.New("redis: connection refused"))
	s, err = p.AcquireEarly(context.Background(), capacity.Request{ID: "second", Hosts: []string{"a"}, Wait: time.Second}, f)
	if err != nil {
		t.Fatal(err)
	}
	if st.enters.Load() != 2 {
		t.Fatalf("Enter called %d times, want 2", st.enters.Load())
	}
	s.Release()

	// Never sent (no batcher): Acquire enters itself; Cancel is a no-op.
	g := p.Early(capacity.Request{ID: "third", Hosts: []string{"a"}})
	g.Cancel()
	if inFlight(t, p) != 0 {
		t.Fatal("cancelling an unsent early entry took a slot")
	}

	var nilEarly *capacity.Early
	nilEarly.Cancel()
	nilEarly.Set(capacity.Outcome{}, nil)
	if p.Early(capacity.Request{ID: "x", Hosts: []string{"zzz"}}) != nil {
		t.Fatal("an early entry for a request with no usable host")
	}
}
