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
	// PromptBytes is the size of everything the upstream may turn into
	// prompt tokens, for the hold's estimate (estimate.go).
	PromptBytes int

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

// Parse validates body and reads what the gateway acts on. The body is
// checked once (json.Valid) and its top-level members are walked in place.
// Parse reads the body the way the upstream's Go decoder will: a member
// that Go would match to a field the gateway reads, spelled differently, or
// such a field given twice (Go merges a repeated array into the first one's
// elements), is refused (fields.go). Inside a message, names are matched
// case-insensitively, the last one winning, as Go does.
func Parse(body []byte) (*Request, error) {
	b := bytes.TrimSpace(body)
	if !isObject(b) || !json.Valid(b) {
		return nil, invalid("", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	b = bytes.Clone(b) // Upstream may run after the caller reused body
	r := &Request{N: 1, members: make([]member, 0, 8)}
	var model, messages, stream, streamOptions, maxTokens, maxCompletion, n, stop []byte
	var err *Error
	var seen uint64
	members(b, func(m member) {
		r.members = append(r.members, m)
		if err != nil {
			return
		}
		f, known := fields[string(m.name)]
		if !known {
			if v := variantOf(m.name); v != "" {
				name := string(m.name)
				err = invalid(name, "Unrecognized request argument supplied: %s. Did you mean '%s'? Parameter names are case-sensitive.", name, v)
			}
			return
		}
		if seen&f.bit != 0 {
			name := string(m.name)
			err = invalid(name, "The parameter '%s' is given more than once.", name)
			return
		}
		seen |= f.bit
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
		case "stop":
			stop = m.val
		default:
			if err = f.check(m.name, m.val); err == nil && f.counted {
				r.PromptBytes += textBytes(m.val)
			}
		}
	})
	if err != nil {
		return nil, err
	}
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
			IncludeUsage *bool `json:"include_usage"`
		}
		if !isObject(streamOptions) || json.Unmarshal(streamOptions, &so) != nil {
			return nil, invalid("stream_options", "'stream_options' must be an object whose include_usage is a boolean.")
		}
		r.IncludeUsage = so.IncludeUsage != nil && *so.IncludeUsage
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
	if err := checkStop(stop); err != nil {
		return nil, err
	}
	return r, nil
}

// checkStop: a string, or an array of at most 4 strings (empty allowed).
func checkStop(raw []byte) *Error {
	if raw == nil || isNull(raw) || raw[0] == '"' {
		return nil
	}
	bad := invalid("stop", "'stop' must be a string or an array of at most 4 strings.")
	if raw[0] != '[' {
		return bad
	}
	count, ok := 0, true
	elements(raw, func(el []byte) {
		count++
		ok = ok && el[0] == '"'
	})
	if !ok || count > 4 {
		return bad
	}
	return nil
}

// roles are the message roles OpenAI's API defines.
var roles = map[string]bool{"system": true, "developer": true, "user": true, "assistant": true, "tool": true, "function": true}

// readMessages checks the messages array and measures it for the hold.
func (r *Request) readMessages(raw []byte) error {
	bad := invalid("messages", "'messages' must be a non-empty array of message objects.")
	if len(raw) == 0 || raw[0] != '[' {
		return bad
	}
	// One walk checks and measures: a request's messages are most of its
	// bytes, and each walk of them scans every byte.
	count, objects := 0, true
	var err error
	elements(raw, func(el []byte) {
		i := count
		count++
		if el[0] != '{' {
			objects = false
			return
		}
		m := measureMessage(el)
		r.PromptBytes += m.bytes
		switch {
		case err != nil:
		case !validRole(m.role):
			err = invalid(fmt.Sprintf("messages[%d].role", i), "Each message needs a 'role': one of system, developer, user, assistant, tool or function.")
		case !validContent(m.content, m.partsOK):
			err = invalid(fmt.Sprintf("messages[%d].content", i), "Message content must be a string, an array of content parts or null.")
		}
	})
	if count == 0 || !objects {
		return bad
	}
	return err
}

// validRole: a string naming one of roles.
func validRole(raw []byte) bool {
	if len(raw) < 2 || raw[0] != '"' {
		return false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return roles[string(raw[1:len(raw)-1])] // no allocation
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && roles[s]
}

// validContent: absent, null, a string, or an array of part objects (of
// any type: new part types must not need a gateway release); partsOK says
// whether every element of an array was an object.
func validContent(c []byte, partsOK bool) bool {
	if len(c) == 0 || c[0] == 'n' || c[0] == '"' {
		return true
	}
	return c[0] == '[' && partsOK
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

var includeUsage = []byte(`{"include_usage":true}`)

// Upstream returns the body to send upstream: the model renamed to the
// backend's name, max_tokens set to maxTokens (0: the client's own limit, as
// read; Ollama ignores max_completion_tokens, so it is moved), and for streams
// stream_options.include_usage forced on so every stream can be billed.
// Every other member passes through as the client wrote it, in its order
// (a repeated key once, with its last value); the rewritten ones follow.
func (r *Request) Upstream(backendModel string, maxTokens int64) ([]byte, error) {
	model, err := json.Marshal(backendModel)
	if err != nil {
		return nil, err
	}
	if maxTokens <= 0 {
		// The limit the gateway read, from whichever field it came: a
		// max_tokens left beside the dropped max_completion_tokens would
		// be a limit the gateway never read.
		maxTokens = r.MaxTokens
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
