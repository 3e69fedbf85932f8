package chat

// The oracle of Parse is the upstream itself: Ollama decodes a chat request
// into a Go struct with encoding/json (case-insensitive keys, Unicode simple
// folding, the last of a repeated key). Whatever Parse accepts, the struct
// decode must read the same way, and the body Upstream builds must make the
// upstream read the same messages and the limits the gateway set.

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

type oracleMessage struct {
	Role       string          `json:"role"`
	Content    any             `json:"content"`
	Name       string          `json:"name"`
	ToolCalls  json.RawMessage `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

type oracleRequest struct {
	Model         string          `json:"model"`
	Messages      []oracleMessage `json:"messages"`
	Stream        bool            `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	MaxTokens           *int64          `json:"max_tokens"`
	MaxCompletionTokens *int64          `json:"max_completion_tokens"`
	N                   *int64          `json:"n"`
	Tools               json.RawMessage `json:"tools"`
	Functions           json.RawMessage `json:"functions"`
	ResponseFormat      json.RawMessage `json:"response_format"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	Stop                any             `json:"stop"`
}

// textLowerBound is what the upstream will certainly turn into prompt
// tokens: roles, names, string contents and text parts (decoded bytes).
func (o *oracleRequest) textLowerBound() int {
	n := 0
	for _, m := range o.Messages {
		n += len(m.Role) + len(m.Name) + len(m.ToolCallID)
		switch c := m.Content.(type) {
		case string:
			n += len(c)
		case []any:
			for _, p := range c {
				if pm, ok := p.(map[string]any); ok {
					if t, _ := pm["text"].(string); t != "" && pm["type"] == "text" {
						n += len(t)
					}
				}
			}
		}
	}
	return n
}

// agree fails t when Parse's reading of body differs from the struct decode.
func agree(t *testing.T, body []byte) {
	t.Helper()
	r, err := Parse(body)
	if err != nil {
		if _, ok := err.(*Error); !ok {
			t.Fatalf("%q: error of type %T: %v", body, err, err)
		}
		return
	}
	var o oracleRequest
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("%q: Parse accepted what the upstream cannot decode: %v", body, err)
	}
	wantMax := int64(0)
	if o.MaxTokens != nil {
		wantMax = *o.MaxTokens
	}
	if o.MaxCompletionTokens != nil {
		wantMax = *o.MaxCompletionTokens
	}
	wantN := int64(1)
	if o.N != nil {
		wantN = *o.N
	}
	include := o.StreamOptions != nil && o.StreamOptions.IncludeUsage
	if r.Model != o.Model || r.Stream != o.Stream || r.MaxTokens != wantMax || r.N != wantN || r.IncludeUsage != include {
		t.Fatalf("%q:\nParse  model %q stream %v max %d n %d usage %v\nstruct model %q stream %v max %d n %d usage %v",
			body, r.Model, r.Stream, r.MaxTokens, r.N, r.IncludeUsage, o.Model, o.Stream, wantMax, wantN, include)
	}
	if lb := o.textLowerBound(); r.PromptBytes < lb {
		t.Fatalf("%q: prompt bytes %d below the upstream's text %d", body, r.PromptBytes, lb)
	}
	for _, mt := range []int64{0, 42} {
		up, err := r.Upstream("back\"end", mt)
		if err != nil {
			t.Fatal(err)
		}
		var u oracleRequest
		if err := json.Unmarshal(up, &u); err != nil {
			t.Fatalf("%q: Upstream wrote %q: %v", body, up, err)
		}
		if u.Model != "back\"end" || u.Stream != r.Stream || !reflect.DeepEqual(u.Messages, o.Messages) {
			t.Fatalf("%q: the upstream reads %q differently", body, up)
		}
		want := mt
		if want == 0 {
			want = r.MaxTokens
		}
		if (want > 0) != (u.MaxTokens != nil) || (want > 0 && *u.MaxTokens != want) || u.MaxCompletionTokens != nil {
			t.Fatalf("%q: limits in %q", body, up)
		}
		if r.Stream != (u.StreamOptions != nil) || (r.Stream && !u.StreamOptions.IncludeUsage) {
			t.Fatalf("%q: stream options in %q", body, up)
		}
		if !bytes.Equal(u.Tools, o.Tools) && !(len(u.Tools) == 0 && len(o.Tools) == 0) {
			t.Fatalf("%q: tools changed in %q", body, up)
		}
	}
}

const msgs = `"messages":[{"role":"user","content":"hi"}]`

var oracleSeeds = []string{
	`{"model":"m",` + msgs + `}`,
	` {"model":"m",` + msgs + `,"stream":true} `,
	`{"model":"m",` + msgs + `,"stream":true,"stream_options":{"include_usage":false,"x":1}}`,
	`{"model":"m",` + msgs + `,"stream":true,"stream_options":null}`,
	`{"model":"m",` + msgs + `,"stream":false,"stream_options":{"include_usage":true}}`,
	`{"model":"m",` + msgs + `,"max_tokens":5,"max_completion_tokens":7,"n":3,"temperature":0.5}`,
	`{"model":"m",` + msgs + `,"max_tokens":null,"n":null,"stream":null,"temperature":null,"stop":null}`,
	`{"model":"a","model":"b",` + msgs + `}`,
	`{"model":"m",` + msgs + `,"x":1,"x":{"y":[1,2,{"z":"}]"}]}}`,
	`{"mod\u0065l":"esc",` + msgs + `}`,
	`{"model":"m\"q\u00e9",` + msgs + `}`,
	`{"Model":"m",` + msgs + `}`,
	`{"model":"m",` + msgs + `,"Stream":true}`,
	`{"model":"m",` + msgs + `,"STREAM":true}`,
	`{"model":"m",` + msgs + `,"ſtream":true}`,
	`{"model":"m",` + msgs + `,"\u017ftream":true}`,
	`{"model":"m",` + msgs + `,"Messages":[{"role":"user","content":"` + strings.Repeat("big ", 50) + `"}]}`,
	`{"model":"m",` + msgs + `,"messages":[{"role":"user"}]}`,
	`{"model":"m",` + msgs + `,"Max_tokens":4000}`,
	`{"model":"m",` + msgs + `,"max_tokens":1,"MAX_TOKENS":4000}`,
	`{"model":"m",` + msgs + `,"Stream_options":{"include_usage":true},"stream":true}`,
	`{"model":"m",` + msgs + `,"N":5}`,
	`{"model":"m",` + msgs + `,"Tools":[{"type":"function","function":{"name":"f"}}]}`,
	`{"model":"m","messages":[{"ROLE":"user","Content":"h\u00e9llo\n"}]}`,
	`{"model":"m","messages":[{"role":"user","content":"x","Content":"a much longer content the upstream reads"}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"abc"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","Type":"text","text":"hidden text","image_url":{"url":"u"}}]}]}`,
	`{"model":"m","messages":[{"role":"user","content":null},{"role":"assistant","content":"xyz","tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1","content":"42"}]}`,
	`{"model":"m","messages":[{"role":"user","name":"` + strings.Repeat("n", 300) + `","content":"x"}]}`,
	`{"model":"m","messages":[{"role":"user"},null]}`,
	`{"model":"m","messages":[{"content":"x"},"str"]}`,
	`{"model":"m","messages":[{"role":"user","content":5}]}`,
	`{"model":"m","messages":[{"role":"user","content":[5]}]}`,
	`{"model":"m","messages":[{"role":"wizard","content":"x"}]}`,
	`{"model":"m","messages":[{"role":5,"content":"x"}]}`,
	`{"model":"m","messages":[]}`,
	`{"model":"m","messages":null}`,
	`{"model":"m","messages":{}}`,
	`{"model":5,` + msgs + `}`,
	`{"model":"",` + msgs + `}`,
	`{"model":null,` + msgs + `}`,
	`{"model":"m",` + msgs + `,"stream":"yes"}`,
	`{"model":"m",` + msgs + `,"stream_options":3}`,
	`{"model":"m",` + msgs + `,"stream_options":[]}`,
	`{"model":"m",` + msgs + `,"stream":true,"stream_options":{"include_usage":"yes"}}`,
	`{"model":"m",` + msgs + `,"max_tokens":0}`,
	`{"model":"m",` + msgs + `,"max_tokens":1.5}`,
	`{"model":"m",` + msgs + `,"max_tokens":"5"}`,
	`{"model":"m",` + msgs + `,"max_tokens":1e2}`,
	`{"model":"m",` + msgs + `,"max_tokens":-0}`,
	`{"model":"m",` + msgs + `,"max_completion_tokens":99999999999999999999}`,
	`{"model":"m",` + msgs + `,"n":129}`,
	`{"model":"m",` + msgs + `,"n":128}`,
	`{"model":"m",` + msgs + `,"temperature":2.5}`,
	`{"model":"m",` + msgs + `,"top_p":-0.1}`,
	`{"model":"m",` + msgs + `,"stop":["a","b","c","d","e"]}`,
	`{"model":"m",` + msgs + `,"stop":[]}`,
	`{"model":"m",` + msgs + `,"tools":[{"type":"function","function":{"name":"get_weather","description":"` + strings.Repeat("d", 500) + `"}}],"tool_choice":"auto"}`,
	`{"model":"m",` + msgs + `,"tool_choice":{"type":"function","function":{"name":"f"}},"reasoning_effort":"minimal","service_tier":"flex","modalities":["text"]}`,
	`{"model":"m",` + msgs,
	`[1,2]`, `null`, `"x"`, `not json`, ``, `{}`,
	"{\"model\":\"m\xff\"," + msgs + "}",
}

// TestParse_AgreesWithGoStructDecode: every body Parse accepts is read by a
// Go struct decode (the upstream's reading) the same way, and Upstream's
// body makes the upstream read the same messages.
func TestParse_AgreesWithGoStructDecode(t *testing.T) {
	for _, body := range oracleSeeds {
		agree(t, []byte(body))
	}
}

// FuzzParse_AgreesWithGoStructDecode runs the same property over generated
// bodies (go test -fuzz=FuzzParse ./gateway/internal/chat/).
func FuzzParse_AgreesWithGoStructDecode(f *testing.F) {
	for _, s := range oracleSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) { agree(t, body) })
}
