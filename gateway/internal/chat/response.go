package chat

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// Usage is the token count an upstream reports.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

// Total returns TotalTokens, or the sum when the upstream left it out.
func (u Usage) Total() int64 {
	if u.TotalTokens > 0 {
		return u.TotalTokens
	}
	return u.PromptTokens + u.CompletionTokens
}

// Completion is what the gateway reads from a non-streaming answer.
type Completion struct {
	Usage     Usage
	HaveUsage bool
}

// ReadCompletion checks that a non-streaming answer is a JSON object (ok
// false otherwise: an SSE stream, or anything else, is not relayed as one)
// and reads its usage: only the top-level "usage" member is decoded
// (matched case-insensitively, the last one winning, as a struct decode
// would).
func ReadCompletion(body []byte) (c Completion, ok bool) {
	b := bytes.TrimSpace(body)
	if !isObject(b) || !json.Valid(b) {
		return c, false
	}
	c.Usage, c.HaveUsage = usageMember(b)
	return c, true
}

// RelayedBytes measures what a valid answer without usage relayed, for
// the gateway's own count of its completion tokens: every choice's message
// (content, reasoning, refusal, tool calls: keys and values, as the prompt
// estimate counts them). It runs only on that rare path, so it decodes.
func RelayedBytes(body []byte) int {
	var a struct {
		Choices []struct {
			Message json.RawMessage `json:"message"`
		} `json:"choices"`
	}
	if json.Unmarshal(body, &a) != nil {
		return 0
	}
	n := 0
	for _, c := range a.Choices {
		if len(c.Message) > 0 {
			n += textBytes(c.Message)
		}
	}
	return n
}

// usageMember reads the top-level "usage" of a valid JSON object.
func usageMember(b []byte) (Usage, bool) {
	var raw []byte
	members(b, func(m member) {
		if bytes.EqualFold(m.name, []byte("usage")) {
			raw = m.val
		}
	})
	if raw == nil || !isObject(raw) {
		return Usage{}, false
	}
	return decodeUsage(raw)
}

// decodeUsage reads a valid JSON usage object as json.Unmarshal into Usage
// would (names matched case-insensitively, the last one winning, null
// leaving a count at 0, anything but an integer failing), without
// reflection: it runs once per non-streaming answer.
func decodeUsage(obj []byte) (Usage, bool) {
	var u Usage
	ok := true
	members(obj, func(m member) {
		var dst *int64
		switch {
		case bytes.EqualFold(m.name, []byte("prompt_tokens")):
			dst = &u.PromptTokens
		case bytes.EqualFold(m.name, []byte("completion_tokens")):
			dst = &u.CompletionTokens
		case bytes.EqualFold(m.name, []byte("total_tokens")):
			dst = &u.TotalTokens
		default:
			return
		}
		if isNull(m.val) {
			return
		}
		n, err := strconv.ParseInt(string(m.val), 10, 64)
		if err != nil {
			ok = false
			return
		}
		*dst = n
	})
	if !ok {
		return Usage{}, false
	}
	return u, true
}

// RenameModel replaces the top-level "model" of a JSON object, so clients
// see the public id they asked for rather than the backend's name. Other
// members pass through as written (a repeated key once, its last value).
func RenameModel(body []byte, model string) []byte {
	b := bytes.TrimSpace(body)
	if !isObject(b) || !json.Valid(b) {
		return body
	}
	name, err := json.Marshal(model)
	if err != nil {
		return body
	}
	ms := make([]member, 0, 8)
	members(b, func(m member) { ms = append(ms, m) })
	return rewrite(make([]byte, 0, len(b)+len(name)), ms, func(n []byte) bool { return string(n) == "model" }, []byte("model"), name)
}

// Chunk is what the gateway needs from one streamed event.
type Chunk struct {
	// Usage is set on the usage chunk (and on any chunk carrying usage).
	Usage *Usage
	// UsageOnly is true for the include_usage chunk: empty choices, usage set.
	UsageOnly bool
	// Generated counts choices whose delta carried content or tool calls:
	// the fallback completion-token count when no usage arrives.
	Generated int64
	// Error is true for an in-stream {"error":...} event.
	Error bool
}

type chunkJSON struct {
	Usage   *Usage          `json:"usage"`
	Error   json.RawMessage `json:"error"`
	Choices []struct {
		Delta struct {
			Content   string          `json:"content"`
			Reasoning string          `json:"reasoning"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		} `json:"delta"`
	} `json:"choices"`
}

var (
	keyUsage     = []byte(`"usage"`)
	keyError     = []byte(`"error"`)
	keyDelta     = []byte(`"delta"`)
	keyContent   = []byte(`"content"`)
	keyReasoning = []byte(`"reasoning"`)
	keyToolCalls = []byte(`"tool_calls"`)
)

// ParseChunk reads one SSE data payload (without the "data: " prefix).
//
// It runs on every streamed token, so the common chunk (one choice, a
// content or reasoning delta, no usage, no error, no tool calls) is read
// by scanning its bytes instead of decoding it. Anything else, or anything
// the scan cannot read for certain (a key seen twice, a key inside an
// unusual spot), is decoded in full. A key's text inside a JSON string is
// escaped (\"usage\"), so it never looks like a key to the scan; a string
// value equal to a key name only sends the chunk to the full decode.
func ParseChunk(payload []byte) Chunk {
	if c, ok := scanChunk(payload); ok {
		return c
	}
	return decodeChunk(payload)
}

// scanChunk is ParseChunk's fast path; ok is false when it cannot answer.
func scanChunk(p []byte) (Chunk, bool) {
	if bytes.Contains(p, keyUsage) || bytes.Contains(p, keyError) || bytes.Contains(p, keyToolCalls) {
		return Chunk{}, false
	}
	d := bytes.Index(p, keyDelta)
	if d < 0 || bytes.Contains(p[d+len(keyDelta):], keyDelta) {
		return Chunk{}, false
	}
	rest := p[d+len(keyDelta):]
	content, ok1 := nonEmptyString(rest, keyContent)
	reasoning, ok2 := nonEmptyString(rest, keyReasoning)
	if !ok1 || !ok2 || bytes.Contains(p[:d], keyContent) || bytes.Contains(p[:d], keyReasoning) {
		return Chunk{}, false
	}
	if content || reasoning {
		return Chunk{Generated: 1}, true
	}
	return Chunk{}, true
}

// nonEmptyString reports whether key appears once in p as an object key
// with a non-empty string value; ok is false when that cannot be told
// (the key twice, or a value that is neither a string nor null).
func nonEmptyString(p, key []byte) (found, ok bool) {
	i := bytes.Index(p, key)
	if i < 0 {
		return false, true
	}
	if bytes.Contains(p[i+len(key):], key) {
		return false, false
	}
	v := skipSpace(p[i+len(key):])
	if len(v) == 0 || v[0] != ':' {
		return false, false
	}
	v = skipSpace(v[1:])
	switch {
	case len(v) >= 2 && v[0] == '"':
		return v[1] != '"', true
	case bytes.HasPrefix(v, []byte("null")):
		return false, true
	}
	return false, false
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// decodeChunk is ParseChunk's full decode.
func decodeChunk(payload []byte) Chunk {
	var c chunkJSON
	if json.Unmarshal(payload, &c) != nil {
		return Chunk{}
	}
	out := Chunk{Usage: c.Usage, Error: len(c.Error) > 0 && !bytes.Equal(c.Error, []byte("null"))}
	out.UsageOnly = c.Usage != nil && len(c.Choices) == 0
	for _, ch := range c.Choices {
		if ch.Delta.Content != "" || ch.Delta.Reasoning != "" || len(ch.Delta.ToolCalls) > 0 {
			out.Generated++
		}
	}
	return out
}
