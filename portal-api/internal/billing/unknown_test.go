package billing

import (
	"strconv"
	"testing"
	"time"
)

// TestUnknownIDs: ids expire after the ttl, and the memory never holds
// more than max: a flood of fresh ids forgets the oldest first.
func TestUnknownIDs(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	u := newUnknownIDs(10*time.Minute, 3, func() time.Time { return now })
	u.add("a")
	now = now.Add(time.Minute)
	u.add("b")
	if !u.has("a") || !u.has("b") || u.has("c") {
		t.Fatal("remembered ids")
	}
	now = now.Add(9 * time.Minute) // a's ttl is over, b's is not
	if u.has("a") || !u.has("b") {
		t.Fatal("expiry")
	}
	for i := range 100 {
		u.add(strconv.Itoa(i))
	}
	if u.len() != 3 || !u.has("99") || !u.has("97") || u.has("96") || u.has("b") {
		t.Fatalf("bounded: %d ids", u.len())
	}
	u.add("97") // again: moves to the back, no duplicate
	u.add("x")
	if u.len() != 3 || !u.has("97") || u.has("98") {
		t.Fatalf("re-added id: %d ids", u.len())
	}
}
