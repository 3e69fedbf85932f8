package relay_test

import (
	"strings"
	"testing"

	"github.com/resayil/portal/gateway/internal/relay"
)

func TestIsJSON(t *testing.T) {
	for _, c := range []struct {
		contentType, body string
		want              bool
	}{
		{"text/event-stream", `{"not":"read"}`, false},
		{"text/event-stream; charset=utf-8", "data: {}\n\n", false},
		{"application/json", "data: {}\n\n", true},
		{"Application/JSON; charset=utf-8", `{}`, true},
		{"application/problem+json", `{}`, true},
		{"", " \n\t{\"id\":1}", true},
		{"", "[1]", true},
		{"text/plain", "data: {\"id\":1}\n\n", false},
		{"", ": comment\n\ndata: x\n\n", false},
		{"", "", false},
		{"", "   ", false},
	} {
		ev := relay.NewEvents(strings.NewReader(c.body))
		if got := relay.IsJSON(c.contentType, ev); got != c.want {
			t.Errorf("%q %q: %v, want %v", c.contentType, c.body, got, c.want)
		}
		if !c.want && strings.HasPrefix(c.body, "data:") {
			// Peeking consumed nothing.
			if d, err := ev.Next(); err != nil || len(d) == 0 {
				t.Errorf("%q: Next after IsJSON: %q %v", c.body, d, err)
			}
		}
		ev.Release()
	}
}
