package httpserver

import (
	"encoding/hex"
	"testing"
	"time"
)

// Ids are 32 hex digits, start with the time, sort by it, and differ
// within one millisecond.
func TestNewID_TimeOrderedAndUnique(t *testing.T) {
	at := time.UnixMilli(1795695222786)
	a, b := newID(at), newID(at)
	if len(a) != 32 || a == b {
		t.Fatalf("ids %q and %q of one millisecond: want 32 hex digits each, different", a, b)
	}
	if _, err := hex.DecodeString(a); err != nil {
		t.Fatalf("id %q is not hex: %v", a, err)
	}
	if a[:12] != "01a217c6a002" {
		t.Fatalf("id %q starts with %q, want the time 1795695222786 ms as 12 hex digits (01a217c6a002)", a, a[:12])
	}
	prev := newID(at)
	for i := 1; i <= 1000; i++ {
		next := newID(at.Add(time.Duration(i) * time.Millisecond))
		if next <= prev {
			t.Fatalf("id %q made a millisecond after %q sorts before it", next, prev)
		}
		prev = next
	}
	if got := NewID(); got[:12] < newID(time.Now().Add(-time.Minute))[:12] {
		t.Fatalf("NewID %q does not carry the current time", got)
	}
}
