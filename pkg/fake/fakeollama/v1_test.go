package fakeollama_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/fake/fakeollama"
	"github.com/resayil/portal/pkg/fake/internal/fakechat"
)

func TestV1Chat_NonStream(t *testing.T) {
	s := start(t)
	resp, body := post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	wantStatus(t, resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	m := object(t, body)
	wantKeys(t, "completion", m, "id", "object", "created", "model", "system_fingerprint", "choices", "usage")
	if m["id"] != "chatcmpl-1" || m["object"] != "chat.completion" || m["model"] != "llama3.2:3b" || m["system_fingerprint"] != "fp_ollama" {
		t.Errorf("completion = %v", m)
	}
	choice := m["choices"].([]any)[0].(map[string]any)
	wantKeys(t, "choice", choice, "index", "message", "finish_reason")
	wantKeys(t, "message", choice["message"], "role", "content")
	wantContent := fakeollama.ReplyText(helloMessages, fakeollama.DefaultTokens)
	if wantContent != "hello fake world hello fake world hello fake" {
		t.Fatalf("ReplyText = %q", wantContent)
	}
	if msg := choice["message"].(map[string]any); msg["role"] != "assistant" || msg["content"] != wantContent || choice["finish_reason"] != "stop" {
		t.Errorf("choice = %v", choice)
	}
	// usage has the three counters and nothing else: no *_details on Ollama.
	wantKeys(t, "usage", m["usage"], "prompt_tokens", "completion_tokens", "total_tokens")
	wantJSON(t, mustJSON(t, m["usage"]), `{"completion_tokens":8,"prompt_tokens":4,"total_tokens":12}`)
	if got := fakeollama.PromptTokens(helloMessages); got != 4 {
		t.Errorf("PromptTokens = %d, want 4", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// streamEvents posts a streaming request and returns the SSE payloads,
// failing on any framing other than `data: …\n\n`.
func streamEvents(t *testing.T, url, body string) []string {
	t.Helper()
	resp, b := post(t, url, body)
	wantStatus(t, resp, b, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	events, err := fakechat.SplitSSE(b)
	if err != nil {
		t.Fatalf("framing: %v\nbody: %s", err, b)
	}
	return events
}

func TestV1Chat_StreamWithoutUsage(t *testing.T) {
	s := start(t, fakeollama.WithTokens(3))
	events := streamEvents(t, s.URL()+"/v1/chat/completions", hello+`,"stream":true}`)
	// three content chunks, the finish chunk, [DONE]; no usage chunk
	if len(events) != 5 || events[4] != "[DONE]" {
		t.Fatalf("events = %q", events)
	}
	var content strings.Builder
	for i, e := range events[:3] {
		wantJSON(t, []byte(e), fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":%d,"model":"llama3.2:3b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":%q},"finish_reason":null}]}`,
			created(t, e), []string{"hello", " fake", " world"}[i]))
		content.WriteString(object(t, []byte(e))["choices"].([]any)[0].(map[string]any)["delta"].(map[string]any)["content"].(string))
	}
	if content.String() != fakeollama.ReplyText(helloMessages, 3) {
		t.Errorf("streamed content = %q", content.String())
	}
	wantJSON(t, []byte(events[3]), fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":%d,"model":"llama3.2:3b","system_fingerprint":"fp_ollama","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop"}]}`, created(t, events[3])))
	for _, e := range events[:4] {
		if strings.Contains(e, `"usage"`) {
			t.Errorf("chunk has a usage key (Ollama omits it): %s", e)
		}
	}
}

func created(t *testing.T, event string) int64 {
	t.Helper()
	return int64(object(t, []byte(event))["created"].(float64))
}

func TestV1Chat_StreamWithUsage(t *testing.T) {
	s := start(t, fakeollama.WithTokens(2))
	events := streamEvents(t, s.URL()+"/v1/chat/completions", hello+`,"stream":true,"stream_options":{"include_usage":true}}`)
	if len(events) != 5 || events[4] != "[DONE]" {
		t.Fatalf("events = %q", events)
	}
	for _, e := range events[:3] {
		if strings.Contains(e, `"usage"`) {
			t.Errorf("chunk before the usage chunk has a usage key: %s", e)
		}
	}
	wantJSON(t, []byte(events[3]), fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":%d,"model":"llama3.2:3b","system_fingerprint":"fp_ollama","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}`, created(t, events[3])))
}

func TestV1Chat_IncludeUsageWithoutStreamIsIgnored(t *testing.T) {
	s := start(t)
	resp, body := post(t, s.URL()+"/v1/chat/completions", hello+`,"stream_options":{"include_usage":true}}`)
	wantStatus(t, resp, body, http.StatusOK)
	wantKeys(t, "completion", object(t, body), "id", "object", "created", "model", "system_fingerprint", "choices", "usage")
}

func TestV1Chat_TokenLimits(t *testing.T) {
	s := start(t)
	tests := []struct {
		name, extra string
		tokens      float64
		finish      string
	}{
		{"max_tokens caps and says length", `,"max_tokens":3`, 3, "length"},
		{"max_tokens above the reply", `,"max_tokens":100`, 8, "stop"},
		{"max_tokens equal to the reply", `,"max_tokens":8`, 8, "stop"},
		{"max_tokens 0 is no limit", `,"max_tokens":0`, 8, "stop"},
		{"max_completion_tokens is dropped", `,"max_completion_tokens":2`, 8, "stop"},
		{"n is ignored", `,"n":3`, 8, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, s.URL()+"/v1/chat/completions", hello+tt.extra+`}`)
			wantStatus(t, resp, body, http.StatusOK)
			m := object(t, body)
			choices := m["choices"].([]any)
			if len(choices) != 1 {
				t.Errorf("%d choices", len(choices))
			}
			if got := m["usage"].(map[string]any)["completion_tokens"]; got != tt.tokens {
				t.Errorf("completion_tokens = %v, want %v", got, tt.tokens)
			}
			if got := choices[0].(map[string]any)["finish_reason"]; got != tt.finish {
				t.Errorf("finish_reason = %v, want %v", got, tt.finish)
			}
		})
	}
}

func TestV1Chat_PromptTokensFromAllText(t *testing.T) {
	s := start(t, fakeollama.WithTokens(2))
	// 8 + 16 + 5 bytes of text; the image part counts for nothing.
	body := `{"model":"LLAMA3.2:3B","messages":[{"role":"system","content":"be brief"},` +
		`{"role":"user","content":[{"type":"text","text":"hello fake world"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"text","text":" more"}]}]}`
	resp, b := post(t, s.URL()+"/v1/chat/completions", body)
	wantStatus(t, resp, b, http.StatusOK)
	msgs := []fakeollama.Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hello fake world more"}}
	want := fakeollama.PromptTokens(msgs)
	if want != 8 { // ceil(29/4)
		t.Fatalf("PromptTokens = %d, want 8", want)
	}
	m := object(t, b)
	if got := m["usage"].(map[string]any)["prompt_tokens"]; got != float64(want) {
		t.Errorf("prompt_tokens = %v, want %d", got, want)
	}
	if got := m["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"]; got != "hello fake" {
		t.Errorf("content = %v", got)
	}
	if m["model"] != "LLAMA3.2:3B" {
		t.Errorf("model = %v, want the name as requested", m["model"])
	}
}

func TestV1Chat_Errors(t *testing.T) {
	s := start(t)
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"unknown model", `{"model":"x","messages":[{"role":"user","content":"hi"}]}`, 404,
			`{"error":{"message":"model \"x\" not found, try pulling it first","type":"not_found_error","param":null,"code":null}}`},
		{"embedding model", `{"model":"bge-m3","messages":[{"role":"user","content":"hi"}]}`, 400,
			`{"error":{"message":"\"bge-m3\" does not support chat","type":"invalid_request_error","param":null,"code":null}}`},
		{"no messages", `{"model":"llama3.2:3b","messages":[]}`, 400,
			`{"error":{"message":"[] is too short - 'messages'","type":"invalid_request_error","param":null,"code":null}}`},
		{"no model", `{"messages":[{"role":"user","content":"hi"}]}`, 400,
			`{"error":{"message":"model is required","type":"invalid_request_error","param":null,"code":null}}`},
		{"null content", `{"model":"llama3.2:3b","messages":[{"role":"user","content":null}]}`, 400,
			`{"error":{"message":"invalid message content type: \u003cnil\u003e","type":"invalid_request_error","param":null,"code":null}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, s.URL()+"/v1/chat/completions", tt.body)
			wantStatus(t, resp, body, tt.status)
			wantJSON(t, body, tt.want)
		})
	}
	t.Run("bad JSON", func(t *testing.T) {
		resp, body := post(t, s.URL()+"/v1/chat/completions", `{"model":`)
		wantStatus(t, resp, body, 400)
		if e := object(t, body)["error"].(map[string]any); e["type"] != "invalid_request_error" || e["message"] == "" {
			t.Errorf("error = %v", e)
		}
	})
	if got := s.Stats(); got.Requests != 6 || got.Completed != 0 || got.InFlight != 0 {
		t.Errorf("stats = %+v", got)
	}
}

func TestV1Models(t *testing.T) {
	s := start(t, fakeollama.WithModels("llama3.2:3b", "glm-4.7-flash", "someone/tuned:q8"))
	resp, body := do(t, http.MethodGet, s.URL()+"/v1/models", "")
	wantStatus(t, resp, body, http.StatusOK)
	models := s.Models()
	wantJSON(t, body, fmt.Sprintf(`{"object":"list","data":[`+
		`{"id":"llama3.2:3b","object":"model","created":%d,"owned_by":"library"},`+
		`{"id":"glm-4.7-flash:latest","object":"model","created":%d,"owned_by":"library"},`+
		`{"id":"someone/tuned:q8","object":"model","created":%d,"owned_by":"someone"}]}`,
		models[0].ModifiedAt.Unix(), models[1].ModifiedAt.Unix(), models[2].ModifiedAt.Unix()))

	resp, body = do(t, http.MethodGet, s.URL()+"/v1/models/glm-4.7-flash", "")
	wantStatus(t, resp, body, http.StatusOK)
	wantJSON(t, body, fmt.Sprintf(`{"id":"glm-4.7-flash","object":"model","created":%d,"owned_by":"library"}`, models[1].ModifiedAt.Unix()))

	resp, body = do(t, http.MethodGet, s.URL()+"/v1/models/someone/tuned:q8", "")
	wantStatus(t, resp, body, http.StatusOK)

	resp, body = do(t, http.MethodGet, s.URL()+"/v1/models/nope", "")
	wantStatus(t, resp, body, http.StatusNotFound)
	wantJSON(t, body, `{"error":{"message":"model 'nope' not found","type":"not_found_error","param":null,"code":null}}`)

	s.SetModels()
	resp, body = do(t, http.MethodGet, s.URL()+"/v1/models", "")
	wantStatus(t, resp, body, http.StatusOK)
	wantJSON(t, body, `{"object":"list","data":null}`)
	if s.Stats().Requests != 0 {
		t.Errorf("model listings were counted as chat requests: %+v", s.Stats())
	}
}
