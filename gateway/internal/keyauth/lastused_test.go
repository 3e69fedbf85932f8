package keyauth_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/keyauth"
	"github.com/resayil/portal/pkg/resayil"
)

// usageLog is a UsageMarker that records each batch.
type usageLog struct {
	mu      sync.Mutex
	batches [][]resayil.APIKeyID
	at      []time.Time
	err     error
}

func (u *usageLog) MarkUsed(_ context.Context, ids []resayil.APIKeyID, at time.Time) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.err != nil {
		return u.err
	}
	u.batches = append(u.batches, slices.Clone(ids))
	u.at = append(u.at, at)
	return nil
}

func (u *usageLog) snapshot() [][]resayil.APIKeyID {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.batches)
}

// tick makes the flusher flush once and waits until it has: the second
// send is received only after the first flush returned.
func tick(ticks chan time.Time) {
	ticks <- time.Time{}
	ticks <- time.Time{}
}

func TestLastUsedFlusher_BatchPerInterval(t *testing.T) {
	store := &usageLog{}
	clk := newClock()
	ticks := make(chan time.Time)
	f := keyauth.NewLastUsedFlusher(store, keyauth.LastUsedConfig{Ticks: ticks, Now: clk.Now})
	defer f.Close(context.Background())

	for _, id := range []resayil.APIKeyID{3, 1, 3, 2, 1, 3} {
		f.Touch(id)
	}
	if got := store.snapshot(); len(got) != 0 {
		t.Fatalf("written before the interval: %v", got)
	}
	tick(ticks)
	if got := store.snapshot(); len(got) != 1 || !slices.Equal(got[0], []resayil.APIKeyID{1, 2, 3}) {
		t.Fatalf("batches = %v, want one batch [1 2 3]", got)
	}
	if !store.at[0].Equal(clk.Now()) {
		t.Errorf("at = %v, want the clock's %v", store.at[0], clk.Now())
	}
	tick(ticks) // nothing touched: nothing written
	if got := store.snapshot(); len(got) != 1 {
		t.Errorf("empty interval wrote %v", got[1:])
	}
}

func TestLastUsedFlusher_RetriesFailedBatch(t *testing.T) {
	store := &usageLog{err: errors.New("database down")}
	ticks := make(chan time.Time)
	f := keyauth.NewLastUsedFlusher(store, keyauth.LastUsedConfig{Ticks: ticks})
	defer f.Close(context.Background())
	f.Touch(7)
	tick(ticks)
	store.mu.Lock()
	store.err = nil
	store.mu.Unlock()
	f.Touch(8)
	tick(ticks)
	if got := store.snapshot(); len(got) != 1 || !slices.Equal(got[0], []resayil.APIKeyID{7, 8}) {
		t.Errorf("batches = %v, want [[7 8]]", got)
	}
}

func TestLastUsedFlusher_CloseFlushes(t *testing.T) {
	store := &usageLog{}
	f := keyauth.NewLastUsedFlusher(store, keyauth.LastUsedConfig{Interval: time.Hour})
	f.Touch(5)
	f.Touch(5)
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := store.snapshot(); len(got) != 1 || !slices.Equal(got[0], []resayil.APIKeyID{5}) {
		t.Errorf("batches = %v, want [[5]]", got)
	}
	if err := f.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLastUsedFlusher_CloseReportsFailure(t *testing.T) {
	store := &usageLog{err: errors.New("database down")}
	f := keyauth.NewLastUsedFlusher(store, keyauth.LastUsedConfig{Interval: time.Hour})
	f.Touch(5)
	if err := f.Close(context.Background()); err == nil {
		t.Error("Close hid a failed final flush")
	}
}

func TestLastUsedFlusher_RealTicker(t *testing.T) {
	store := &usageLog{}
	f := keyauth.NewLastUsedFlusher(store, keyauth.LastUsedConfig{Interval: 10 * time.Millisecond})
	defer f.Close(context.Background())
	f.Touch(9)
	deadline := time.Now().Add(5 * time.Second)
	for len(store.snapshot()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no flush within 5 s at a 10 ms interval")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAuthenticate_TouchesLastUsed(t *testing.T) {
	keys := newKeyTable()
	keys.put(keyA, principal(1, 10, 100))
	keys.put(keyB, principal(2, 20, 200))
	usage := &usageLog{}
	ticks := make(chan time.Time)
	f := keyauth.NewLastUsedFlusher(usage, keyauth.LastUsedConfig{Ticks: ticks})
	a := newAuth(t, keys, newClock(), keyauth.Config{LastUsed: f})
	for range 5 {
		mustAuth(t, a, keyA)
	}
	mustAuth(t, a, keyB)
	refusedWith(t, a, "sk-unknownunknownunknown", resayil.EUNAUTHORIZED)
	tick(ticks)
	if got := usage.snapshot(); len(got) != 1 || !slices.Equal(got[0], []resayil.APIKeyID{1, 2}) {
		t.Errorf("batches = %v, want [[1 2]]", got)
	}
	if err := f.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
