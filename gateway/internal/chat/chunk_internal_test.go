package chat

import (
	"reflect"
	"testing"
)

// TestScanChunk_AgreesWithDecode: wherever the byte scan answers, it
// answers what the full decode does; where it cannot tell, it declines.
func TestScanChunk_AgreesWithDecode(t *testing.T) {
	head := `{"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":`
	for _, tc := range []struct {
		payload string
		scans   bool
	}{
		{head + `{"role":"assistant","content":""},"finish_reason":null}]}`, true},
		{head + `{"content":"tok "},"finish_reason":null}]}`, true},
		{head + `{"content": "x"},"finish_reason":null}]}`, true},
		{head + `{"content":null,"reasoning":"thinking"},"finish_reason":null}]}`, true},
		{head + `{"content":"\"usage\": \"error\" \"delta\""}}]}`, true},
		{head + `{"content":"\n"}}]}`, true},
		{head + `{},"finish_reason":"stop"}]}`, true},
		{head + `{"role":"content"}}]}`, false},
		{head + `{"content":"a","content":""}}]}`, false},
		{head + `{"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]}}]}`, false},
		{head + `{"tool_calls":null}}]}`, false},
		{head + `{"content":["x"]}}]}`, false},
		{`{"choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"}}]}`, false},
		{`{"id":"c","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}`, false},
		{`{"error":{"message":"boom"}}`, false},
		{`{"id":"c","choices":[]}`, false},
	} {
		got, ok := scanChunk([]byte(tc.payload))
		if ok != tc.scans {
			t.Errorf("%s: scanned=%v, want %v", tc.payload, ok, tc.scans)
		}
		want := decodeChunk([]byte(tc.payload))
		if ok && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: scan %+v, decode %+v", tc.payload, got, want)
		}
		if p := ParseChunk([]byte(tc.payload)); !reflect.DeepEqual(p, want) {
			t.Errorf("%s: ParseChunk %+v, decode %+v", tc.payload, p, want)
		}
	}
}

func BenchmarkParseChunk_Content(b *testing.B) {
	p := []byte(`{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"llama3.2:3b","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":{"content":"tok1 "},"finish_reason":null}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if ParseChunk(p).Generated != 1 {
			b.Fatal("not counted")
		}
	}
}
