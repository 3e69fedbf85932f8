package chat

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestReadCompletionAndRename_AgreeWithDecode: the member walk reads the
// usage a struct decode reads, and the rename decodes like the map
// round trip did.
func TestReadCompletionAndRename_AgreeWithDecode(t *testing.T) {
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
		done, valid := ReadCompletion([]byte(body))
		u, ok := done.Usage, valid && done.HaveUsage
		if ok != (werr == nil && c.Usage != nil) || (ok && u != *c.Usage) {
			t.Errorf("%s: ReadCompletion %+v %v, decode %+v %v", body, u, ok, c.Usage, werr)
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

func BenchmarkReadCompletion(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"llama3.2:3b","system_fingerprint":"fp_bench","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! Bonjour! Hola! That is hello in three languages."},"finish_reason":"stop"}],"usage":{"prompt_tokens":26,"completion_tokens":14,"total_tokens":40}}`)
	b.ReportAllocs()
	for b.Loop() {
		if c, ok := ReadCompletion(body); !ok || !c.HaveUsage {
			b.Fatal("no usage")
		}
	}
}
