package fakechat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Dialect is whose OpenAI-compatible /v1 the fake speaks.
type Dialect int

const (
	// Ollama is Ollama's OpenAI-compatibility layer (openai/openai.go and
	// middleware/openai.go in github.com/ollama/ollama).
	Ollama Dialect = iota
	// OpenAI is OpenAI's own API, as cloud upstreams speak it.
	OpenAI
)

// V1 is the POST /v1/chat/completions protocol in one dialect.
type V1 struct{ Dialect Dialect }

// Authorize accepts every request; fakecloud wraps V1 to demand a key.
func (V1) Authorize(*http.Request) *Failure { return nil }

// Texts returns the dialect's error messages.
func (v V1) Texts() *Texts {
	if v.Dialect == OpenAI {
		return &openAITexts
	}
	return &OllamaTexts
}

type v1Request struct {
	Model         string      `json:"model"`
	Messages      []v1Message `json:"messages"`
	Stream        bool        `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int `json:"max_tokens"`
	MaxCompletionTokens *int `json:"max_completion_tokens"`
}

type v1Message struct {
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	ToolCalls json.RawMessage `json:"tool_calls"`
}

// Decode parses an OpenAI chat request. Ollama drops max_completion_tokens
// and n (they are not in its ChatCompletionRequest); OpenAI honours the
// smaller of max_tokens and max_completion_tokens. Both ignore n.
func (v V1) Decode(body []byte) (Chat, *Failure) {
	bad := func(msg, param string) (Chat, *Failure) {
		return Chat{}, &Failure{Status: http.StatusBadRequest, Message: msg, Param: param}
	}
	var req v1Request
	if err := json.Unmarshal(body, &req); err != nil {
		if v.Dialect == OpenAI {
			return bad("We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)", "")
		}
		return bad(err.Error(), "")
	}
	if len(req.Messages) == 0 {
		return bad("[] is too short - 'messages'", "messages")
	}
	chat := Chat{Model: req.Model, Stream: req.Stream}
	for _, m := range req.Messages {
		text, ok := messageText(m)
		if !ok {
			return bad(fmt.Sprintf("invalid message content type: %s", contentKind(m.Content)), "messages")
		}
		chat.Messages = append(chat.Messages, Message{Role: m.Role, Content: text})
	}
	if req.Model == "" {
		if v.Dialect == OpenAI {
			return bad("you must provide a model parameter", "")
		}
		return bad("model is required", "")
	}
	if v.Dialect == Ollama {
		chat.IncludeUsage = req.Stream && req.StreamOptions != nil && req.StreamOptions.IncludeUsage
		if req.MaxTokens != nil {
			chat.MaxTokens = max(*req.MaxTokens, 0) // num_predict <= 0: no limit
		}
		return chat, nil
	}
	if req.StreamOptions != nil && !req.Stream {
		return bad("The 'stream_options' parameter is only allowed when 'stream' is enabled.", "stream_options")
	}
	chat.IncludeUsage = req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	for _, lim := range []struct {
		name string
		v    *int
	}{{"max_tokens", req.MaxTokens}, {"max_completion_tokens", req.MaxCompletionTokens}} {
		if lim.v == nil {
			continue
		}
		if *lim.v < 1 {
			f := &Failure{Status: http.StatusBadRequest, Param: lim.name, Code: "integer_below_min_value",
				Message: fmt.Sprintf("Invalid '%s': integer below minimum value. Expected a value >= 1, but got %d instead.", lim.name, *lim.v)}
			return Chat{}, f
		}
		if chat.MaxTokens == 0 || *lim.v < chat.MaxTokens {
			chat.MaxTokens = *lim.v
		}
	}
	return chat, nil
}

// messageText extracts the text of a message: a string, or the text parts
// of an array of parts. Null content is allowed only beside tool calls.
func messageText(m v1Message) (string, bool) {
	c := bytes.TrimSpace(m.Content)
	switch {
	case len(c) == 0 || bytes.Equal(c, []byte("null")):
		return "", len(bytes.TrimSpace(m.ToolCalls)) > 0 && !bytes.Equal(bytes.TrimSpace(m.ToolCalls), []byte("null"))
	case c[0] == '"':
		var s string
		return s, json.Unmarshal(c, &s) == nil
	case c[0] == '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(c, &parts) != nil {
			return "", false
		}
		var b strings.Builder
		for _, p := range parts {
			if p.Type == "text" {
				b.WriteString(p.Text)
			}
		}
		return b.String(), true
	}
	return "", false
}

// contentKind names a bad content value the way Ollama's %T does.
func contentKind(c json.RawMessage) string {
	c = bytes.TrimSpace(c)
	switch {
	case len(c) == 0 || bytes.Equal(c, []byte("null")):
		return "<nil>"
	case c[0] == '{':
		return "map[string]interface {}"
	case c[0] == 't' || c[0] == 'f':
		return "bool"
	}
	return "float64"
}

// Fail writes the dialect's error body with f.Status.
func (v V1) Fail(w http.ResponseWriter, f Failure) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	if v.Dialect == OpenAI {
		_, _ = w.Write(append(openAIError(f), '\n'))
		return
	}
	_, _ = w.Write(OllamaV1Error(f.Status, f.Message))
}

// OllamaV1Error is openai.NewError: the type follows the status, param and
// code are always null.
func OllamaV1Error(status int, message string) []byte {
	typ := "api_error"
	switch status {
	case http.StatusBadRequest:
		typ = "invalid_request_error"
	case http.StatusNotFound:
		typ = "not_found_error"
	}
	return append(Marshal(errorBody{Error: errorObject{Message: message, Type: typ}}), '\n')
}

// errorBody is {"error":{"message","type","param","code"}} in that order.
type errorBody struct {
	Error errorObject `json:"error"`
}

type errorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// Respond writes the reply in the dialect's shape.
func (v V1) Respond(out *Output, g *Generation) error {
	if v.Dialect == OpenAI {
		return respondOpenAI(out, g)
	}
	return respondOllama(out, g)
}

// sse frames one Server-Sent Event the way both servers do.
func sse(payload []byte) []byte {
	b := make([]byte, 0, len(payload)+8)
	b = append(b, "data: "...)
	b = append(b, payload...)
	return append(b, "\n\n"...)
}

var sseDone = []byte("data: [DONE]\n\n")
