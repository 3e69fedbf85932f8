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
	// Every key and value inside the messages counts (decoded UTF-8 bytes),
	// the image part its allowance instead of its payload.
	wantPrompt := len("role"+"system"+"content"+"héllo") +
		len("role"+"user"+"content") + len("type"+"text"+"text"+"abc") + chat.MediaPartBytes + len("type"+"image_url")
	if r.Model != "m" || !r.Stream || r.IncludeUsage || r.MaxTokens != 70 || r.N != 2 || r.PromptBytes != wantPrompt {
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
		"Stream":                `{"model":"m","messages":[{"role":"user","content":"x"}],"Stream":true}`,
		"ſtream":                `{"model":"m","messages":[{"role":"user","content":"x"}],"\u017ftream":true}`,
		"Messages":              `{"model":"m","messages":[{"role":"user","content":"x"}],"Messages":[{"role":"user","content":"y"}]}`,
		"messages   ":           `{"model":"m","messages":[{"role":"user","content":"x"}],"messages":[{"role":"user"}]}`,
		"temperature":           `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3}`,
		"temperature ":          `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`,
		"top_p":                 `{"model":"m","messages":[{"role":"user","content":"x"}],"top_p":1.5}`,
		"presence_penalty":      `{"model":"m","messages":[{"role":"user","content":"x"}],"presence_penalty":-2.5}`,
		"frequency_penalty":     `{"model":"m","messages":[{"role":"user","content":"x"}],"frequency_penalty":2.01}`,
		"top_logprobs":          `{"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":21}`,
		"top_logprobs ":         `{"model":"m","messages":[{"role":"user","content":"x"}],"top_logprobs":1.5}`,
		"stop":                  `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a","b","c","d","e"]}`,
		"stop ":                 `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":5}`,
		"tools":                 `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":{}}`,
		"tool_choice":           `{"model":"m","messages":[{"role":"user","content":"x"}],"tool_choice":5}`,
		"response_format":       `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":"json"}`,
		"messages[1].role":      `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"wizard","content":"x"}]}`,
		"messages[0].content ":  `{"model":"m","messages":[{"role":"user","content":["x"]}]}`,
	}
	for param, body := range cases {
		_, err := chat.Parse([]byte(body))
		ce, ok := err.(*chat.Error)
		if !ok || ce.Param != strings.TrimSpace(param) || ce.Message == "" {
			t.Errorf("%s: want param %q, got %v", body, strings.TrimSpace(param), err)
		}
	}
}

// TestParse_AcceptsWhatSDKsSend: nulls for every optional field, unknown
// message fields, every role, any content part type, the extensible
// string fields with values the gateway has never seen.
func TestParse_AcceptsWhatSDKsSend(t *testing.T) {
	bodies := []string{
		`{"model":"m","messages":[{"role":"developer","content":"x"},{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAAA","format":"wav"}},{"type":"file","file":{"file_id":"f"}},{"type":"brand_new","x":1}]},
		  {"role":"assistant","content":null,"refusal":null,"audio":null,"function_call":{"name":"f","arguments":"{}"},"reasoning":"r","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]},
		  {"role":"tool","tool_call_id":"1","content":"ok"},{"role":"function","name":"f","content":"ok"},{"role":"system","name":"sys","content":"s"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":null,"top_p":null,"n":null,"stream":null,"stop":null,"max_tokens":null,"max_completion_tokens":null,
		  "presence_penalty":null,"frequency_penalty":null,"logit_bias":null,"logprobs":null,"top_logprobs":null,"user":null,"seed":null,"tools":null,"tool_choice":null,
		  "parallel_tool_calls":null,"response_format":null,"reasoning_effort":null,"service_tier":null,"modalities":null,"metadata":null,"store":null,"prediction":null,"audio":null}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":0,"top_p":1,"presence_penalty":-2,"frequency_penalty":2,"top_logprobs":20,"logprobs":true,"seed":-5,
		  "stop":["a","b","c","d"],"reasoning_effort":"ultra-new-level","service_tier":"priority","modalities":["text","audio"],"tool_choice":"required","verbosity":"low",
		  "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{}}},"parallel_tool_calls":false,"logit_bias":{"50256":-100},"x_vendor":{"anything":[1]}}`,
		`{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"\n","X_Vendor":1,"Temperaturex":5}`,
	}
	for _, b := range bodies {
		if _, err := chat.Parse([]byte(b)); err != nil {
			t.Errorf("%s: %v", b, err)
		}
	}
}

// TestParse_PromptCountsToolsAndEveryMessageField: a large tools array, a
// long name or tool call arguments raise the hold's estimate; an image's
// base64 payload does not, however large.
func TestParse_PromptCountsToolsAndEveryMessageField(t *testing.T) {
	base, err := chat.Parse([]byte(`{"model":"m","messages":[{"role":"user","content":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	desc := strings.Repeat("d", 10000)
	for name, body := range map[string]string{
		"tools":      `{"model":"m","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","description":"` + desc + `"}}]}`,
		"functions":  `{"model":"m","messages":[{"role":"user","content":"x"}],"functions":[{"name":"f","description":"` + desc + `"}]}`,
		"format":     `{"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"description":"` + desc + `"}}}`,
		"name":       `{"model":"m","messages":[{"role":"user","name":"` + desc + `","content":"x"}]}`,
		"tool_calls": `{"model":"m","messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"` + desc + `"}}]}]}`,
		"escapes":    `{"model":"m","messages":[{"role":"user","content":"x` + strings.Repeat(`\u0627`, 5000) + `"}]}`,
	} {
		r, err := chat.Parse([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.PromptBytes < base.PromptBytes+10000 {
			t.Errorf("%s: prompt bytes %d, want at least %d", name, r.PromptBytes, base.PromptBytes+10000)
		}
	}
	img := `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"data:image/png;base64,` + strings.Repeat("A", 1<<20) + `"}}]}]}`
	r, err := chat.Parse([]byte(img))
	if err != nil {
		t.Fatal(err)
	}
	if r.PromptBytes > chat.MediaPartBytes+100 {
		t.Errorf("an image counts %d bytes, want about the allowance %d", r.PromptBytes, chat.MediaPartBytes)
	}
}

// TestParse_DeepNestingIsLinear: a body nested as deep as JSON allows costs
// one pass, not one per level.
func TestParse_DeepNestingIsLinear(t *testing.T) {
	deep := strings.Repeat("[", 9000) + `"` + strings.Repeat("x", 2<<20) + `"` + strings.Repeat("]", 9000)
	body := `{"model":"m","messages":[{"role":"user","content":"x","extra":` + deep + `}]}`
	r, err := chat.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if r.PromptBytes < 2<<20 {
		t.Fatalf("prompt bytes %d", r.PromptBytes)
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
	if c, ok := chat.ReadCompletion([]byte(`{"usage":{"prompt_tokens":1,"completion_tokens":2}}`)); !ok || !c.HaveUsage || c.Usage.Total() != 3 {
		t.Fatalf("%+v", c)
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
