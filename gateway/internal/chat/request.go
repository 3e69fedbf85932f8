// Package chat reads an OpenAI chat-completions request body: it validates
// what the gateway needs (model, messages, limits), measures the prompt for
// the credit hold, and rewrites the body for the upstream while passing
// every unknown field through untouched.
package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Request is what the gateway reads from a chat-completions body.
type Request struct {
	Model  string
	Stream bool
	// IncludeUsage is the client's stream_options.include_usage; the gateway
	// always asks the upstream for usage and strips the chunk when false.
	IncludeUsage bool
	// MaxTokens is max_completion_tokens, else max_tokens; 0 when neither.
	MaxTokens int64
	// N is the number of choices asked for (at least 1).
	N int64
	// TextBytes is the UTF-8 length of the messages' text, for the hold's
	// prompt estimate.
	TextBytes int

	// members are the body's top-level members, in a copy of the body.
	members []member
	// streamOptions is the client's stream_options object, if any.
	streamOptions []byte
}

// Error is a client mistake in the body; Param names the field.
type Error struct {
	Param   string
	Message string
}

func (e *Error) Error() string { return e.Message }

func invalid(param, format string, args ...any) *Error {
	return &Error{Param: param, Message: fmt.Sprintf(format, args...)}
}

type part struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Parse validates body. Only the fields the gateway acts on are decoded:
// the body is checked once (json.Valid), its top-level members are walked
// in place, and a repeated key counts with its last value, as in a decoded
// map. Names are matched exactly at the top level, and case-insensitively
// inside a message, as encoding/json does for a struct.
func Parse(body []byte) (*Request, error) {
	b := bytes.TrimSpace(body)
	if !isObject(b) || !json.Valid(b) {
		return nil, invalid("", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	b = bytes.Clone(b) // Upstream may run after the caller reused body
	r := &Request{N: 1, members: make([]member, 0, 8)}
	var model, messages, stream, streamOptions, maxTokens, maxCompletion, n []byte
	members(b, func(m member) {
		r.members = append(r.members, m)
		switch string(m.name) {
		case "model":
			model = m.val
		case "messages":
			messages = m.val
		case "stream":
			stream = m.val
		case "stream_options":
			streamOptions = m.val
		case "max_tokens":
			maxTokens = m.val
		case "max_completion_tokens":
			maxCompletion = m.val
		case "n":
			n = m.val
		}
	})
	if !decodeString(model, &r.Model) || r.Model == "" {
		return nil, invalid("model", "you must provide a model parameter (a string).")
	}
	if err := r.readMessages(messages); err != nil {
		return nil, err
	}
	switch {
	case stream == nil || isNull(stream) || bytes.Equal(stream, []byte("false")):
	case bytes.Equal(stream, []byte("true")):
		r.Stream = true
	default:
		return nil, invalid("stream", "'stream' must be a boolean.")
	}
	if streamOptions != nil && !isNull(streamOptions) {
		var so struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if json.Unmarshal(streamOptions, &so) != nil {
			return nil, invalid("stream_options", "'stream_options' must be an object.")
		}
		r.IncludeUsage = so.IncludeUsage
		r.streamOptions = streamOptions
	}
	for _, f := range []struct {
		name string
		raw  []byte
	}{{"max_tokens", maxTokens}, {"max_completion_tokens", maxCompletion}} {
		v, ok := positive(f.raw)
		if !ok {
			return nil, invalid(f.name, "'%s' must be a positive integer.", f.name)
		}
		if v > 0 {
			r.MaxTokens = v // max_completion_tokens wins: it is read last
		}
	}
	if v, ok := positive(n); !ok || v > 128 {
		return nil, invalid("n", "'n' must be an integer from 1 to 128.")
	} else if v > 0 {
		r.N = v
	}
	return r, nil
}

// readMessages checks the messages array and sums its text.
func (r *Request) readMessages(raw []byte) error {
	bad := invalid("messages", "'messages' must be a non-empty array of message objects.")
	if len(raw) == 0 || raw[0] != '[' {
		return bad
	}
	count, ok := 0, true
	elements(raw, func(el []byte) {
		count++
		ok = ok && (el[0] == '{' || isNull(el))
	})
	if count == 0 || !ok {
		return bad
	}
	i := 0
	var err error
	elements(raw, func(el []byte) {
		defer func() { i++ }()
		if err != nil {
			return
		}
		var role, content []byte
		if el[0] == '{' {
			members(el, func(m member) {
				switch {
				case bytes.EqualFold(m.name, []byte("role")):
					role = m.val
				case bytes.EqualFold(m.name, []byte("content")):
					content = m.val
				}
			})
		}
		if len(role) == 0 {
			err = invalid(fmt.Sprintf("messages[%d].role", i), "Each message needs a 'role'.")
			return
		}
		n, terr := textBytes(content)
		if terr != nil {
			err = invalid(fmt.Sprintf("messages[%d].content", i), "Message content must be a string or an array of content parts.")
			return
		}
		r.TextBytes += n
	})
	return err
}

// decodeString reads a JSON string; absent or null leaves dst empty.
func decodeString(raw []byte, dst *string) bool {
	if raw == nil || isNull(raw) {
		return true
	}
	if len(raw) >= 2 && raw[0] == '"' && bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) {
		*dst = string(raw[1 : len(raw)-1])
		return true
	}
	return json.Unmarshal(raw, dst) == nil
}

// positive reads an optional positive integer: 0 when absent or null, ok
// false when it is anything but an integer from 1 up.
func positive(raw []byte) (int64, bool) {
	if raw == nil || isNull(raw) {
		return 0, true
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		// What encoding/json accepts beyond plain digits, if anything.
		var p int64
		if json.Unmarshal(raw, &p) != nil {
			return 0, false
		}
		v = p
	}
	return v, v >= 1
}

func isNull(raw []byte) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// textBytes sums the text of a message's content: a string, or the text
// parts of an array (images count nothing: the upstream bills them).
func textBytes(content []byte) (int, error) {
	content = bytes.TrimSpace(content)
	if len(content) == 0 || isNull(content) {
		return 0, nil
	}
	switch content[0] {
	case '"':
		if bytes.IndexByte(content, '\\') < 0 && utf8.Valid(content) {
			return len(content) - 2, nil
		}
		var s string
		if err := json.Unmarshal(content, &s); err != nil {
			return 0, err
		}
		return len(s), nil
	case '[':
		var parts []part
		if err := json.Unmarshal(content, &parts); err != nil {
			return 0, err
		}
		n := 0
		for _, p := range parts {
			n += len(p.Text)
		}
		return n, nil
	}
	return 0, fmt.Errorf("content is neither a string nor an array")
}

var includeUsage = []byte(`{"include_usage":true}`)

// Upstream returns the body to send upstream: the model renamed to the
// backend's name, max_tokens set to maxTokens (Ollama ignores
// max_completion_tokens, so it is moved), and for streams
// stream_options.include_usage forced on so every stream can be billed.
// Every other member passes through as the client wrote it, in its order
// (a repeated key once, with its last value); the rewritten ones follow.
func (r *Request) Upstream(backendModel string, maxTokens int64) ([]byte, error) {
	model, err := json.Marshal(backendModel)
	if err != nil {
		return nil, err
	}
	extra := make([][]byte, 0, 6)
	extra = append(extra, []byte("model"), model)
	if maxTokens > 0 {
		extra = append(extra, []byte("max_tokens"), strconv.AppendInt(nil, maxTokens, 10))
	}
	if r.Stream {
		opts := includeUsage
		if isObject(r.streamOptions) {
			var ms []member
			members(r.streamOptions, func(m member) { ms = append(ms, m) })
			opts = rewrite(nil, ms, func(n []byte) bool { return string(n) == "include_usage" }, []byte("include_usage"), []byte("true"))
		}
		extra = append(extra, []byte("stream_options"), opts)
	}
	size := 16
	for _, m := range r.members {
		size += len(m.key) + len(m.val) + 2
	}
	for _, e := range extra {
		size += len(e) + 4
	}
	return rewrite(make([]byte, 0, size), r.members, func(n []byte) bool {
		switch string(n) {
		case "model", "max_completion_tokens", "stream_options":
			return true
		case "max_tokens":
			return maxTokens > 0
		}
		return false
	}, extra...), nil
}
