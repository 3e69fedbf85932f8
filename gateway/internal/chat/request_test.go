package chat_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/resayil/portal/gateway/internal/chat"
)

func TestParse_Valid(t *testing.T) {
	body := `{"model":"m","messages":[{"role":"system","content":"héllo"},{"role":"user","content":[{"type":"text","text":"abc"},{"type":"image_url","image_url":{"url":"data:x"}}]}],
	 "stream":true,"stream_options":{"include_usage":false},"max_tokens":50,"max_completion_tokens":70,"n":2,"temperature":0.3,"x_custom":{"a":1}}`
	r, err := chat.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.Model != "m" || !r.Stream || r.IncludeUsage || r.MaxTokens != 70 || r.N != 2 || r.TextBytes != len("héllo")+3 {
		t.Fatalf("parsed %+v", r)
	}
	up, err := r.Upstream("local-m", 40)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(up, &got); err != nil {
		t.Fatal(err)
	}
	if got["model"] != "local-m" || got["max_tokens"] != 40.0 || got["max_completion_tokens"] != nil {
		t.Fatalf("upstream body %s", up)
	}
	if so := got["stream_options"].(map[string]any); so["include_usage"] != true {
		t.Fatalf("include_usage not forced: %s", up)
	}
	if got["temperature"] != 0.3 || got["x_custom"].(map[string]any)["a"] != 1.0 {
		t.Fatalf("unknown fields must pass through: %s", up)
	}
}

func TestParse_NonStreamDropsStreamOptions(t *testing.T) {
	r, err := chat.Parse([]byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	up, _ := r.Upstream("m", 0)
	if strings.Contains(string(up), "stream_options") || strings.Contains(string(up), "max_tokens") {
		t.Fatalf("body %s", up)
	}
}

func TestParse_Errors(t *testing.T) {
	cases := map[string]string{
		"":                      `not json`,
		" ":                     `[1,2]`,
		"model":                 `{"messages":[{"role":"user","content":"x"}]}`,
		"model ":                `{"model":5,"messages":[{"role":"user","content":"x"}]}`,
		"messages":              `{"model":"m"}`,
		"messages ":             `{"model":"m","messages":[]}`,
		"messages  ":            `{"model":"m","messages":"hi"}`,
		"messages[0].role":      `{"model":"m","messages":[{"content":"x"}]}`,
		"messages[0].content":   `{"model":"m","messages":[{"role":"user","content":5}]}`,
		"stream":                `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"}`,
		"max_tokens":            `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0}`,
		"max_completion_tokens": `{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":-3}`,
		"n":                     `{"model":"m","messages":[{"role":"user","content":"x"}],"n":0}`,
		"stream_options":        `{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":3}`,
	}
	for param, body := range cases {
		_, err := chat.Parse([]byte(body))
		ce, ok := err.(*chat.Error)
		if !ok || ce.Param != strings.TrimSpace(param) || ce.Message == "" {
			t.Errorf("%s: want param %q, got %v", body, strings.TrimSpace(param), err)
		}
	}
}

func TestParseChunk(t *testing.T) {
	c := chat.ParseChunk([]byte(`{"id":"x","choices":[{"index":0,"delta":{"content":"Hi"}}]}`))
	if c.Generated != 1 || c.Usage != nil || c.UsageOnly {
		t.Fatalf("%+v", c)
	}
	c = chat.ParseChunk([]byte(`{"id":"x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}`))
	if !c.UsageOnly || c.Usage.Total() != 8 {
		t.Fatalf("%+v", c)
	}
	c = chat.ParseChunk([]byte(`{"error":{"message":"boom"}}`))
	if !c.Error {
		t.Fatalf("%+v", c)
	}
	if u, ok := chat.CompletionUsage([]byte(`{"usage":{"prompt_tokens":1,"completion_tokens":2}}`)); !ok || u.Total() != 3 {
		t.Fatalf("%+v", u)
	}
	out := chat.RenameModel([]byte(`{"model":"local","x":1}`), "public")
	if !strings.Contains(string(out), `"model":"public"`) || !strings.Contains(string(out), `"x":1`) {
		t.Fatalf("%s", out)
	}
}

func BenchmarkParseAndRewrite(b *testing.B) {
	body := []byte(`{"model":"llama3.2:3b","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":"Say hello in three languages please."}],"stream":true,"max_tokens":128,"temperature":0.7}`)
	b.ReportAllocs()
	for b.Loop() {
		r, err := chat.Parse(body)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Upstream("llama3.2:3b", 128); err != nil {
			b.Fatal(err)
		}
	}
}
