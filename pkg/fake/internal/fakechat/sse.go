package fakechat

import (
	"bytes"
	"fmt"
)

// SplitSSE checks that body is exactly a sequence of `data: <payload>\n\n`
// events (no event:, id: or comment lines, no multi-line data) and returns
// the payloads. The fakes' tests use it to pin the framing.
func SplitSSE(body []byte) ([]string, error) {
	var out []string
	for len(body) > 0 {
		if !bytes.HasPrefix(body, []byte("data: ")) {
			return out, fmt.Errorf("event %d does not start with %q: %.40q", len(out), "data: ", body)
		}
		end := bytes.Index(body, []byte("\n\n"))
		if end < 0 {
			return out, fmt.Errorf("event %d is not terminated by a blank line: %.60q", len(out), body)
		}
		payload := body[len("data: "):end]
		if bytes.ContainsAny(payload, "\r\n") {
			return out, fmt.Errorf("event %d has more than one line: %q", len(out), payload)
		}
		out = append(out, string(payload))
		body = body[end+2:]
	}
	return out, nil
}
