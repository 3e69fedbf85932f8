package relay_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/relay"
)

// sseAnswer is an Ollama-shaped stream of n content events, a stop event,
// a usage event and [DONE]: what `make bench`'s fake upstream sends.
func sseAnswer(n int) []byte {
	head := `{"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"llama3.2:3b","system_fingerprint":"fp_bench","choices":[{"index":0,"delta":`
	var b bytes.Buffer
	b.WriteString("data: " + head + `{"role":"assistant","content":""},"finish_reason":null}]}` + "\n\n")
	for i := range n {
		b.WriteString("data: " + head + `{"content":"tok` + strconv.Itoa(i) + ` "},"finish_reason":null}]}` + "\n\n")
	}
	b.WriteString("data: " + head + `{},"finish_reason":"stop"}]}` + "\n\n")
	b.WriteString(`data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"llama3.2:3b","system_fingerprint":"fp_bench","choices":[],"usage":{"prompt_tokens":26,"completion_tokens":` +
		strconv.Itoa(n) + `,"total_tokens":` + strconv.Itoa(26+n) + "}}\n\n")
	b.WriteString("data: [DONE]\n\n")
	return b.Bytes()
}

// BenchmarkStream_SSE is one streamed answer through the relay, as the
// gateway runs it: read the first event before committing (Handle), then
// Stream the rest — parse each chunk for usage and generated tokens, strip
// or keep the usage event, rename the model, write and flush every event.
// ns/event is the per-event cost; allocs/op is per stream.
func BenchmarkStream_SSE(b *testing.B) {
	const contentEvents = 16
	body := sseAnswer(contentEvents)
	events := float64(contentEvents + 4)
	for _, tc := range []struct {
		name string
		o    relay.StreamOptions
	}{
		{"passthrough", relay.StreamOptions{IncludeUsage: true, PublicModel: "llama3.2:3b", BackendModel: "llama3.2:3b"}},
		{"strip_usage_rename", relay.StreamOptions{PublicModel: "public-id", BackendModel: "llama3.2:3b"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			o := tc.o
			o.Idle, o.KeepAlive, o.Done = time.Minute, time.Second, make(chan struct{})
			_, cancel := context.WithCancel(context.Background())
			defer cancel()
			o.Cancel = cancel
			w := bufio.NewWriterSize(io.Discard, 4096)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				ev := relay.NewEvents(bytes.NewReader(body))
				first, err := ev.Next()
				if err != nil {
					b.Fatal(err)
				}
				first = append([]byte(nil), first...)
				res := relay.Stream(w, first, ev, o)
				if res.Outcome != relay.OK || !res.HaveUsage || res.Generated != contentEvents {
					b.Fatalf("%+v", res)
				}
			}
			b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N)/events, "ns/event")
		})
	}
}
