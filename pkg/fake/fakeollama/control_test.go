package fakeollama_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakeollama"
	"github.com/resayil/portal/pkg/fake/internal/fakechat"
)

const busy = `{"error":{"message":"server busy, please try again.  maximum pending requests exceeded","type":"api_error","param":null,"code":null}}`

func TestFailNext(t *testing.T) {
	s := start(t)
	s.FailNext(2, http.StatusServiceUnavailable)
	s.FailNext(1, http.StatusInternalServerError)
	s.FailNextWith(1, http.StatusBadGateway, "remote model is unavailable")

	for range 2 {
		resp, body := post(t, s.URL()+"/v1/chat/completions", hello+`,"stream":true}`)
		wantStatus(t, resp, body, http.StatusServiceUnavailable)
		wantJSON(t, body, busy)
	}
	resp, body := post(t, s.URL()+"/api/chat", hello+`}`)
	wantStatus(t, resp, body, http.StatusInternalServerError)
	wantJSON(t, body, `{"error":"llama runner process has terminated: exit status 2"}`)
	resp, body = post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	wantStatus(t, resp, body, http.StatusBadGateway)
	wantJSON(t, body, `{"error":{"message":"remote model is unavailable","type":"api_error","param":null,"code":null}}`)

	resp, body = post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	wantStatus(t, resp, body, http.StatusOK)
	if got := s.Stats(); got.Requests != 5 || got.Failed != 4 || got.Completed != 1 {
		t.Errorf("stats = %+v", got)
	}
}

func TestDropNext(t *testing.T) {
	s := start(t)
	s.DropNext(1)
	resp, err := http.Post(s.URL()+"/v1/chat/completions", "application/json", strings.NewReader(hello+`}`))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got status %d, want the connection closed before any byte", resp.StatusCode)
	}
	resp2, body := post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	wantStatus(t, resp2, body, http.StatusOK)
	if got := s.Stats(); got.Requests != 2 || got.Failed != 1 || got.Completed != 1 {
		t.Errorf("stats = %+v (a POST must not have been retried)", got)
	}
}

func TestFailMidStream_V1(t *testing.T) {
	s := start(t)
	s.FailMidStream(1, 2)
	resp, body := post(t, s.URL()+"/v1/chat/completions", hello+`,"stream":true,"stream_options":{"include_usage":true}}`)
	wantStatus(t, resp, body, http.StatusOK)
	events, err := fakechat.SplitSSE(body)
	if err != nil {
		t.Fatal(err)
	}
	// two content chunks, then Ollama's decoding of the error line; no finish
	// chunk, no usage chunk, no [DONE]
	if len(events) != 3 {
		t.Fatalf("events = %q", events)
	}
	for _, e := range events {
		if e == "[DONE]" || strings.Contains(e, `"finish_reason":"`) || strings.Contains(e, `"usage"`) {
			t.Errorf("unexpected event after a mid-stream failure: %s", e)
		}
	}
	last := object(t, []byte(events[2]))
	if last["model"] != "" || !strings.Contains(events[2], `"delta":{"role":"assistant","content":""},"finish_reason":null`) {
		t.Errorf("last event = %s", events[2])
	}
	if got := s.Stats(); got.Failed != 1 || got.Completed != 0 || got.Cancelled != 0 || got.TokensEmitted != 2 {
		t.Errorf("stats = %+v", got)
	}
}

func TestFailMidStream_Native(t *testing.T) {
	s := start(t)
	s.FailMidStream(1, 1)
	resp, body := post(t, s.URL()+"/api/chat", hello+`}`)
	wantStatus(t, resp, body, http.StatusOK)
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("lines = %q", lines)
	}
	wantJSON(t, []byte(lines[1]), `{"error":"an error was encountered while running the model: unexpected EOF"}`)
}

func TestFailMidStream_BeforeAnyByteIs500(t *testing.T) {
	s := start(t)
	s.FailMidStream(2, 0)
	s.FailMidStream(1, 3)
	resp, body := post(t, s.URL()+"/v1/chat/completions", hello+`,"stream":true}`)
	wantStatus(t, resp, body, http.StatusInternalServerError)
	wantJSON(t, body, `{"error":{"message":"an error was encountered while running the model: unexpected EOF","type":"api_error","param":null,"code":null}}`)
	resp, body = post(t, s.URL()+"/api/chat", hello+`,"stream":false}`)
	wantStatus(t, resp, body, http.StatusInternalServerError)
	resp, body = post(t, s.URL()+"/v1/chat/completions", hello+`}`) // not streaming
	wantStatus(t, resp, body, http.StatusInternalServerError)
}

// The parallel emulation: one generating, one queued, the third refused.
func TestParallelAndQueue(t *testing.T) {
	s := start(t, fakeollama.WithParallel(1, 1))
	ctx := testContext(t)
	s.Pause()
	type result struct {
		status int
		body   []byte
	}
	results := make(chan result, 2)
	for range 2 {
		go func() {
			resp, err := http.Post(s.URL()+"/v1/chat/completions", "application/json", strings.NewReader(hello+`}`))
			if err != nil {
				results <- result{status: -1, body: []byte(err.Error())}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			results <- result{resp.StatusCode, b}
		}()
	}
	if err := s.WaitFor(ctx, func(st fakeollama.Stats) bool { return st.Running == 1 && st.Queued == 1 }); err != nil {
		t.Fatal(err)
	}
	resp, body := post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	wantStatus(t, resp, body, http.StatusServiceUnavailable)
	wantJSON(t, body, busy)
	resp, body = post(t, s.URL()+"/api/chat", hello+`}`)
	wantStatus(t, resp, body, http.StatusServiceUnavailable)
	wantJSON(t, body, `{"error":"server busy, please try again.  maximum pending requests exceeded"}`)

	s.Resume()
	for range 2 {
		if r := <-results; r.status != http.StatusOK {
			t.Errorf("queued request: %d %s", r.status, r.body)
		}
	}
	if got := s.Stats(); got.Rejected != 2 || got.Completed != 2 || got.MaxInFlight != 3 || got.Running != 0 || got.Queued != 0 {
		t.Errorf("stats = %+v", got)
	}
}

// SetParallel at run time starts the queued requests that now fit.
func TestSetParallelReleasesQueue(t *testing.T) {
	s := start(t, fakeollama.WithParallel(1, 10))
	ctx := testContext(t)
	s.Pause()
	done := make(chan int, 3)
	for range 3 {
		go func() {
			resp, err := http.Post(s.URL()+"/api/chat", "application/json", strings.NewReader(hello+`,"stream":false}`))
			if err != nil {
				done <- -1
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	if err := s.WaitFor(ctx, func(st fakeollama.Stats) bool { return st.Queued == 2 }); err != nil {
		t.Fatal(err)
	}
	s.SetParallel(3, 10)
	if err := s.WaitFor(ctx, func(st fakeollama.Stats) bool { return st.Running == 3 && st.Queued == 0 }); err != nil {
		t.Fatal(err)
	}
	s.Resume()
	for range 3 {
		if code := <-done; code != http.StatusOK {
			t.Errorf("status %d", code)
		}
	}
}

// A client that goes away mid-stream is counted, and the fake stops generating.
func TestCancelMidStream(t *testing.T) {
	s := start(t)
	s.SetChunkDelay(time.Hour)
	ctx, cancel := context.WithCancel(testContext(t))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/v1/chat/completions", strings.NewReader(hello+`,"stream":true}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "data: {") {
		t.Fatalf("first line %q, %v", first, err)
	}
	cancel()
	resp.Body.Close()
	wait := testContext(t)
	if err := s.WaitFor(wait, func(st fakeollama.Stats) bool { return st.Cancelled == 1 && st.InFlight == 0 }); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats(); got.Completed != 0 || got.TokensEmitted != 1 || got.Running != 0 {
		t.Errorf("stats = %+v", got)
	}
}

// Cancellation is also seen while paused, queued or sleeping in latency.
func TestCancelBeforeFirstByte(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(s *fakeollama.Server)
	}{
		{"paused", func(s *fakeollama.Server) { s.Pause() }},
		{"latency", func(s *fakeollama.Server) { s.SetLatency(time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := start(t)
			tc.setup(s)
			ctx, cancel := context.WithCancel(testContext(t))
			errc := make(chan error, 1)
			go func() {
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/api/chat", strings.NewReader(hello+`}`))
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				errc <- err
			}()
			if err := s.WaitInFlight(testContext(t), 1); err != nil {
				t.Fatal(err)
			}
			cancel()
			if err := <-errc; !errors.Is(err, context.Canceled) {
				t.Errorf("client error = %v", err)
			}
			if err := s.WaitFor(testContext(t), func(st fakeollama.Stats) bool { return st.Cancelled == 1 && st.InFlight == 0 }); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCancelWhileQueued(t *testing.T) {
	s := start(t, fakeollama.WithParallel(1, 5))
	s.Pause()
	go func() {
		resp, err := http.Post(s.URL()+"/api/chat", "application/json", strings.NewReader(hello+`}`))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	if err := s.WaitFor(testContext(t), func(st fakeollama.Stats) bool { return st.Running == 1 }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/api/chat", strings.NewReader(hello+`}`))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if err := s.WaitFor(testContext(t), func(st fakeollama.Stats) bool { return st.Queued == 1 }); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := s.WaitFor(testContext(t), func(st fakeollama.Stats) bool { return st.Cancelled == 1 && st.Queued == 0 }); err != nil {
		t.Fatal(err)
	}
	s.Resume()
	if err := s.WaitFor(testContext(t), func(st fakeollama.Stats) bool { return st.Completed == 1 && st.InFlight == 0 }); err != nil {
		t.Fatal(err)
	}
}

func TestLatencyBeforeFirstByte(t *testing.T) {
	const latency = 60 * time.Millisecond
	s := start(t, fakeollama.WithLatency(latency))
	begin := time.Now()
	resp, body := post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	wantStatus(t, resp, body, http.StatusOK)
	if took := time.Since(begin); took < latency {
		t.Errorf("answered after %v, latency is %v", took, latency)
	}
}

func TestLastRequest(t *testing.T) {
	s := start(t)
	if got := s.LastRequest(); got.Body != nil || got.Path != "" {
		t.Errorf("before any request: %+v", got)
	}
	sent := hello + `,"stream":true,"stream_options":{"include_usage":true},"max_tokens":2}`
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/chat/completions", strings.NewReader(sent))
	req.Header.Set("X-Request-Id", "abc")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	got := s.LastRequest()
	if got.Method != http.MethodPost || got.Path != "/v1/chat/completions" || got.Header.Get("X-Request-Id") != "abc" || string(got.Body) != sent {
		t.Errorf("LastRequest = %+v", got)
	}
	var body struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
		MaxTokens int `json:"max_tokens"`
	}
	if err := json.Unmarshal(s.LastRequestBody(), &body); err != nil || !body.StreamOptions.IncludeUsage || body.MaxTokens != 2 {
		t.Errorf("LastRequestBody = %s (%v)", s.LastRequestBody(), err)
	}
}

func TestTokensAndModelsAtRunTime(t *testing.T) {
	s := start(t)
	s.SetTokens(1)
	s.SetModels("tiny:1b")
	_, body := post(t, s.URL()+"/api/chat", `{"model":"tiny:1b","stream":false,"messages":[{"role":"user","content":"x"}]}`)
	if m := object(t, body); m["eval_count"] != 1.0 || m["message"].(map[string]any)["content"] != "x" {
		t.Errorf("response = %s", body)
	}
	resp, body := post(t, s.URL()+"/api/chat", hello+`}`)
	wantStatus(t, resp, body, http.StatusNotFound)
}

// Many concurrent streams keep the counters consistent (run with -race).
func TestConcurrentStreams(t *testing.T) {
	s := start(t, fakeollama.WithTokens(4))
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			path := "/v1/chat/completions"
			if i%2 == 0 {
				path = "/api/chat"
			}
			resp, err := http.Post(s.URL()+path, "application/json", strings.NewReader(hello+`,"stream":true}`))
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		})
	}
	wg.Wait()
	got := s.Stats()
	if got.Requests != n || got.Completed != n || got.InFlight != 0 || got.TokensEmitted != 4*n || got.MaxInFlight < 1 || got.MaxInFlight > n {
		t.Errorf("stats = %+v", got)
	}
}

// Close releases a held request instead of waiting for it.
func TestCloseReleasesHeldRequests(t *testing.T) {
	s := fakeollama.New()
	s.Pause()
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Post(s.URL()+"/api/chat", "application/json", strings.NewReader(hello+`}`))
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		errc <- err
	}()
	if err := s.WaitInFlight(testContext(t), 1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	<-errc // any outcome but a hang
	if got := s.Stats(); got.InFlight != 0 || got.Cancelled != 0 {
		t.Errorf("stats = %+v", got)
	}
}

func TestAnswerInOtherShape(t *testing.T) {
	s := start(t)
	s.AnswerInOtherShape(2)
	resp, body := post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	wantStatus(t, resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" || !strings.HasPrefix(string(body), "data: ") ||
		!strings.Contains(string(body), `"usage":{`) || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("a non-streaming request must get a stream with usage: %s %q", ct, body)
	}
	resp, body = post(t, s.URL()+"/v1/chat/completions", hello+`,"stream":true}`)
	wantStatus(t, resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || object(t, body)["object"] != "chat.completion" {
		t.Fatalf("a streaming request must get a completion: %s %q", ct, body)
	}
	resp, body = post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	wantStatus(t, resp, body, http.StatusOK)
	if object(t, body)["object"] != "chat.completion" {
		t.Fatalf("the third request is answered normally: %q", body)
	}
}

func TestOmitUsage(t *testing.T) {
	s := start(t)
	s.OmitUsage(2)
	resp, body := post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	wantStatus(t, resp, body, http.StatusOK)
	if o := object(t, body); o["usage"] != nil || o["choices"] == nil {
		t.Fatalf("completion without usage wanted: %s", body)
	}
	resp, body = post(t, s.URL()+"/v1/chat/completions", hello+`,"stream":true,"stream_options":{"include_usage":true}}`)
	wantStatus(t, resp, body, http.StatusOK)
	if strings.Contains(string(body), `"usage"`) || !strings.HasSuffix(string(body), "data: [DONE]\n\n") {
		t.Fatalf("stream without usage wanted: %q", body)
	}
	_, body = post(t, s.URL()+"/v1/chat/completions", hello+`}`)
	if object(t, body)["usage"] == nil {
		t.Fatalf("the third request has usage again: %s", body)
	}
}
