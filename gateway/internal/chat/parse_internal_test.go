package chat

// The implementation Parse and Upstream had before they stopped decoding
// into a map: the reference of TestParse_AgreesWithMapDecode.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
)

type oldRequest struct {
	Model        string
	Stream       bool
	IncludeUsage bool
	MaxTokens    int64
	N            int64
	TextBytes    int
	fields       map[string]json.RawMessage
}

type message struct {
	Role    json.RawMessage `json:"role"`
	Content json.RawMessage `json:"content"`
}

type oldPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Parse validates body. Only the fields the gateway acts on are decoded.
func oldParse(body []byte) (*oldRequest, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return nil, invalid("", "We could not parse the JSON body of your request. The body must be a JSON object.")
	}
	r := &oldRequest{fields: fields, N: 1}
	if err := oldDecodeField(fields, "model", &r.Model); err != nil || r.Model == "" {
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
		n, err := oldTextBytes(m.Content)
		if err != nil {
			return nil, invalid(fmt.Sprintf("messages[%d].content", i), "Message content must be a string or an array of content parts.")
		}
		r.TextBytes += n
	}
	if err := oldDecodeField(fields, "stream", &r.Stream); err != nil {
		return nil, invalid("stream", "'stream' must be a boolean.")
	}
	if raw, ok := fields["stream_options"]; ok && !oldIsNull(raw) {
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
		if err := oldDecodeField(fields, name, &v); err != nil || (v != nil && *v < 1) {
			return nil, invalid(name, "'%s' must be a positive integer.", name)
		}
		if v != nil {
			r.MaxTokens = *v // max_completion_tokens wins: it is decoded last
		}
	}
	var n *int64
	if err := oldDecodeField(fields, "n", &n); err != nil || (n != nil && (*n < 1 || *n > 128)) {
		return nil, invalid("n", "'n' must be an integer from 1 to 128.")
	}
	if n != nil {
		r.N = *n
	}
	return r, nil
}

func oldDecodeField(fields map[string]json.RawMessage, name string, dst any) error {
	raw, ok := fields[name]
	if !ok || oldIsNull(raw) {
		return nil
	}
	return json.Unmarshal(raw, dst)
}

func oldIsNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// textBytes sums the text of a message's content: a string, or the text
// parts of an array (images count nothing: the upstream bills them).
func oldTextBytes(content json.RawMessage) (int, error) {
	content = bytes.TrimSpace(content)
	if len(content) == 0 || oldIsNull(content) {
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
		var parts []oldPart
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
func (r *oldRequest) oldUpstream(backendModel string, maxTokens int64) ([]byte, error) {
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
		if raw, ok := r.fields["stream_options"]; ok && !oldIsNull(raw) {
			_ = json.Unmarshal(raw, &opts)
		}
		opts["include_usage"] = json.RawMessage("true")
		out["stream_options"], _ = json.Marshal(opts)
	} else {
		delete(out, "stream_options")
	}
	return json.Marshal(out)
}

// TestParse_AgreesWithMapDecode: on valid and invalid bodies alike, Parse
// accepts and refuses what the map decode did (same Param), reads the same
// values, and Upstream builds a body that decodes to the same JSON.
func TestParse_AgreesWithMapDecode(t *testing.T) {
	const msgs = `"messages":[{"role":"user","content":"hi"}]`
	bodies := []string{
		`{"model":"m",` + msgs + `}`,
		` {"model":"m",` + msgs + `,"stream":true} `,
		`{"model":"m",` + msgs + `,"stream":true,"stream_options":{"include_usage":false,"x":1}}`,
		`{"model":"m",` + msgs + `,"stream":true,"stream_options":null}`,
		`{"model":"m",` + msgs + `,"stream":false,"stream_options":{"include_usage":true}}`,
		`{"model":"m",` + msgs + `,"max_tokens":5,"max_completion_tokens":7,"n":3,"temperature":0.5}`,
		`{"model":"m",` + msgs + `,"max_tokens":null,"n":null,"stream":null}`,
		`{"model":"a","model":"b",` + msgs + `,"x":1,"x":{"y":[1,2,{"z":"}]"}]}}`,
		`{"mod\u0065l":"esc",` + msgs + `}`,
		`{"model":"m\"q\u00e9",` + msgs + `}`,
		`{"Model":"m",` + msgs + `}`,
		`{"model":"m","messages":[{"ROLE":"user","Content":"h\u00e9llo\n"}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"abc"},{"type":"image_url","image_url":{"url":"u"}}]}]}`,
		`{"model":"m","messages":[{"role":"user","content":null},{"role":"a","content":"xyz"}]}`,
		`{"model":"m","messages":[{"role":"user"},null]}`,
		`{"model":"m","messages":[{"content":"x"},"str"]}`,
		`{"model":"m","messages":[{"role":"user","content":5}]}`,
		`{"model":"m","messages":[{"role":"user","content":[5]}]}`,
		`{"model":"m","messages":[]}`,
		`{"model":"m","messages":null}`,
		`{"model":"m","messages":{}}`,
		`{"model":5,` + msgs + `}`,
		`{"model":"",` + msgs + `}`,
		`{"model":null,` + msgs + `}`,
		`{"model":"m",` + msgs + `,"stream":"yes"}`,
		`{"model":"m",` + msgs + `,"stream_options":3}`,
		`{"model":"m",` + msgs + `,"stream_options":[]}`,
		`{"model":"m",` + msgs + `,"max_tokens":0}`,
		`{"model":"m",` + msgs + `,"max_tokens":1.5}`,
		`{"model":"m",` + msgs + `,"max_tokens":"5"}`,
		`{"model":"m",` + msgs + `,"max_tokens":1e2}`,
		`{"model":"m",` + msgs + `,"max_tokens":-0}`,
		`{"model":"m",` + msgs + `,"max_completion_tokens":99999999999999999999}`,
		`{"model":"m",` + msgs + `,"n":129}`,
		`{"model":"m",` + msgs + `,"n":128}`,
		`{"model":"m",` + msgs,
		`[1,2]`, `null`, `"x"`, `not json`, ``, `{}`,
		"{\"model\":\"m\xff\"," + msgs + "}",
	}
	for _, body := range bodies {
		got, gerr := Parse([]byte(body))
		want, werr := oldParse([]byte(body))
		if (gerr == nil) != (werr == nil) {
			t.Errorf("%s: Parse err %v, map decode err %v", body, gerr, werr)
			continue
		}
		if gerr != nil {
			if g, w := gerr.(*Error), werr.(*Error); g.Param != w.Param || g.Message != w.Message {
				t.Errorf("%s: Parse refuses %q (%s), map decode %q (%s)", body, g.Param, g.Message, w.Param, w.Message)
			}
			continue
		}
		if got.Model != want.Model || got.Stream != want.Stream || got.IncludeUsage != want.IncludeUsage ||
			got.MaxTokens != want.MaxTokens || got.N != want.N || got.TextBytes != want.TextBytes {
			t.Errorf("%s: Parse %+v, map decode %+v", body, got, want)
		}
		for _, mt := range []int64{0, 42} {
			gu, err1 := got.Upstream("back\"end", mt)
			wu, err2 := want.oldUpstream("back\"end", mt)
			if err1 != nil || err2 != nil {
				t.Fatalf("%s: %v %v", body, err1, err2)
			}
			var g, w any
			if err := json.Unmarshal(gu, &g); err != nil {
				t.Errorf("%s: Upstream wrote invalid JSON %s: %v", body, gu, err)
				continue
			}
			_ = json.Unmarshal(wu, &w)
			if !reflect.DeepEqual(g, w) {
				t.Errorf("%s, max %d:\nUpstream   %s\nmap decode %s", body, mt, gu, wu)
			}
		}
	}
}

var _ = fmt.Sprint
var _ = bytes.Equal

// TestCompletionUsageAndRename_AgreeWithDecode: the member walk reads the
// usage a struct decode reads, and the rename decodes like the map
// round trip did.
func TestCompletionUsageAndRename_AgreeWithDecode(t *testing.T) {
	for _, body := range []string{
		`{"id":"x","model":"local","choices":[{"message":{"content":"usage"}}],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`,
		`{"usage":{"prompt_tokens":1,"completion_tokens":2}}`,
		`{"Usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}`,
		`{"usage":null}`, `{"usage":5}`, `{"model":"x"}`, `[1]`, `not json`, ` {"usage":{"total_tokens":9}} `,
		`{"model":"a","model":"b","x":[{"model":"c"}]}`,
		`{"usage":{"PROMPT_TOKENS":3,"Completion_Tokens":1}}`, `{"usage":{"prompt_tokens":2.5}}`, `{"usage":{"prompt_tokens":"3"}}`,
		`{"usage":{"prompt_tokens":null,"completion_tokens":1}}`, `{"usage":{"prompt_tokens":1,"prompt_tokens":4}}`,
		`{"usage":{"prompt_tokens":-3}}`, `{"usage":{"prompt_tokens":1e2}}`, `{"usage":{"extra":{"a":[1,{"total_tokens":8}]},"total_tokens":5}}`,
		`{"usage":[]}`, `{"usage":"x"}`, `{"usage":true}`, `{"usage":{"prompt_tokens":99999999999999999999}}`,
		`{"usage":{"prompt\u005ftokens":6, "total_tokens" : 7 }}`, `{"usage":{}}`, `{"usage":{"prompt_tokens":-0}}`,
	} {
		var c struct {
			Usage *Usage `json:"usage"`
		}
		werr := json.Unmarshal([]byte(body), &c)
		u, ok := CompletionUsage([]byte(body))
		if ok != (werr == nil && c.Usage != nil) || (ok && u != *c.Usage) {
			t.Errorf("%s: CompletionUsage %+v %v, decode %+v %v", body, u, ok, c.Usage, werr)
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &fields) != nil {
			if got := RenameModel([]byte(body), "pub"); string(got) != body {
				t.Errorf("%s: renamed to %s", body, got)
			}
			continue
		}
		fields["model"], _ = json.Marshal("pub")
		wantRaw, _ := json.Marshal(fields)
		var got, want any
		if err := json.Unmarshal(RenameModel([]byte(body), "pub"), &got); err != nil {
			t.Errorf("%s: %v", body, err)
		}
		_ = json.Unmarshal(wantRaw, &want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: renamed %v, want %v", body, got, want)
		}
	}
}

func BenchmarkCompletionUsage(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"llama3.2:3b","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! Bonjour! Hola! That is hello in three languages."},"finish_reason":"stop"}],"usage":{"prompt_tokens":26,"completion_tokens":14,"total_tokens":40}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := CompletionUsage(body); !ok {
			b.Fatal("no usage")
		}
	}
}
