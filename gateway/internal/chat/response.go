package chat

import (
	"bytes"
	"encoding/json"
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

type completion struct {
	Usage *Usage `json:"usage"`
}

// CompletionUsage reads usage from a non-streaming answer.
func CompletionUsage(body []byte) (Usage, bool) {
	var c completion
	if json.Unmarshal(body, &c) != nil || c.Usage == nil {
		return Usage{}, false
	}
	return *c.Usage, true
}

// RenameModel replaces the top-level "model" of a JSON object, so clients
// see the public id they asked for rather than the backend's name.
func RenameModel(body []byte, model string) []byte {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return body
	}
	fields["model"], _ = json.Marshal(model)
	out, err := json.Marshal(fields)
	if err != nil {
		return body
	}
	return out
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

// ParseChunk reads one SSE data payload (without the "data: " prefix).
func ParseChunk(payload []byte) Chunk {
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
