package usage

import (
	"testing"
	"time"
)

func TestStreamTime(t *testing.T) {
	got, ok := streamTime("1764133200123-7")
	if !ok || !got.Equal(time.UnixMilli(1764133200123)) {
		t.Fatalf("streamTime = %v, %v; want %v", got, ok, time.UnixMilli(1764133200123))
	}
	for _, bad := range []string{"", "1764133200123", "x-1", "1-x", "1-", "-1", "1-2-3", "1.5-2"} {
		if _, ok := streamTime(bad); ok {
			t.Errorf("streamTime(%q) accepted a malformed stream id", bad)
		}
	}
}
