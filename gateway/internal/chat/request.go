// Package chat reads an OpenAI chat-completions request body: it validates
// what the gateway needs (model, messages, limits), measures the prompt for
// the credit hold, and rewrites the body for the upstream while passing
// every unknown field through untouched.
package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
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

	fields map[string]json.RawMessage
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

type message struct {
	Role    json.RawMessage `json:"role"`
	Content json.RawMessage `json:"content"`
}

type part struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Parse validates body. Only the fields the gateway acts on are decoded.
func Parse(body []byte) (*Request, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, invalid("", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	r := &Request{fields: fields, N: 1}
	if err := decodeField(fields, "model", &r.Model); err != nil || r.Model == "" {
		return nil, invalid("model", "you must provide a model parameter (a string).")
	}
	raw, ok := fields["messages"]
	var msgs []message
	if !ok || json.Unmarshal(raw, &msgs) != nil || len(msgs) == 0 {
		return nil, invalid("messages", "'messages' must be a non-empty array of message objects.")
	}
	for i, m := range msgs {
		if len(m.Role) == 0 {
			return nil, invalid(fmt.Sprintf("messages[%d].role", i), "Each message needs a 'role'.")
		}
		n, err := textBytes(m.Content)
		if err != nil {
			return nil, invalid(fmt.Sprintf("messages[%d].content", i), "Message content must be a string or an array of content parts.")
		}
		r.TextBytes += n
	}
	if err := decodeField(fields, "stream", &r.Stream); err != nil {
		return nil, invalid("stream", "'stream' must be a boolean.")
	}
	if raw, ok := fields["stream_options"]; ok && !isNull(raw) {
		var so struct {
			IncludeUsage bool `json:"include_usage"`
		}
		if json.Unmarshal(raw, &so) != nil {
			return nil, invalid("stream_options", "'stream_options' must be an object.")
		}
		r.IncludeUsage = so.IncludeUsage
	}
	for _, name := range []string{"max_tokens", "max_completion_tokens"} {
		var v *int64
		if err := decodeField(fields, name, &v); err != nil || (v != nil && *v < 1) {
			return nil, invalid(name, "'%s' must be a positive integer.", name)
		}
		if v != nil {
			r.MaxTokens = *v // max_completion_tokens wins: it is decoded last
		}
	}
	var n *int64
	if err := decodeField(fields, "n", &n); err != nil || (n != nil && (*n < 1 || *n > 128)) {
		return nil, invalid("n", "'n' must be an integer from 1 to 128.")
	}
	if n != nil {
		r.N = *n
	}
	return r, nil
}

func decodeField(fields map[string]json.RawMessage, name string, dst any) error {
	raw, ok := fields[name]
	if !ok || isNull(raw) {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// textBytes sums the text of a message's content: a string, or the text
// parts of an array (images count nothing: the upstream bills them).
func textBytes(content json.RawMessage) (int, error) {
	content = bytes.TrimSpace(content)
	if len(content) == 0 || isNull(content) {
		return 0, nil
	}
	switch content[0] {
	case '"':
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

// Upstream returns the body to send upstream: the model renamed to the
// backend's name, max_tokens set to maxTokens (Ollama ignores
// max_completion_tokens, so it is moved), and for streams
// stream_options.include_usage forced on so every stream can be billed.
func (r *Request) Upstream(backendModel string, maxTokens int64) ([]byte, error) {
	out := make(map[string]json.RawMessage, len(r.fields)+2)
	for k, v := range r.fields {
		out[k] = v
	}
	out["model"], _ = json.Marshal(backendModel)
	delete(out, "max_completion_tokens")
	if maxTokens > 0 {
		out["max_tokens"] = json.RawMessage(fmt.Sprint(maxTokens))
	}
	if r.Stream {
		opts := map[string]json.RawMessage{}
		if raw, ok := r.fields["stream_options"]; ok && !isNull(raw) {
			_ = json.Unmarshal(raw, &opts)
		}
		opts["include_usage"] = json.RawMessage("true")
		out["stream_options"], _ = json.Marshal(opts)
	} else {
		delete(out, "stream_options")
	}
	return json.Marshal(out)
}
