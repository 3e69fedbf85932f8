package fakecloud_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakecloud"
	"github.com/resayil/portal/pkg/fake/internal/fakechat"
)

const hello = `{"model":"gpt-oss:120b","messages":[{"role":"user","content":"hello fake world"}]`

func start(t *testing.T, opts ...fakecloud.Option) *fakecloud.Server {
	t.Helper()
	s := fakecloud.New(opts...)
	t.Cleanup(s.Close)
	return s
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// call sends a request with the given bearer key ("" for none).
func call(t *testing.T, method, url, key, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func chat(t *testing.T, s *fakecloud.Server, body string) (*http.Response, []byte) {
	t.Helper()
	return call(t, http.MethodPost, s.URL()+"/v1/chat/completions", fakecloud.DefaultAPIKey, body)
}

func wantStatus(t *testing.T, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, want, body)
	}
}

func wantJSON(t *testing.T, body []byte, want string) {
	t.Helper()
	var got, exp bytes.Buffer
	if err := json.Compact(&got, body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	if err := json.Compact(&exp, []byte(want)); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if got.String() != exp.String() {
		t.Errorf("body\n got %s\nwant %s", got.String(), exp.String())
	}
}

func created(t *testing.T, b []byte) int64 {
	t.Helper()
	var m struct{ Created int64 }
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m.Created
}

func TestAuth(t *testing.T) {
	s := start(t, fakecloud.WithAPIKey("sk-right-key-1234"))
	for _, tc := range []struct{ name, key, message string }{
		{"missing", "", "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."},
		{"wrong", "sk-wrong-key-9876", "Incorrect API key provided: sk-**********9876. You can find your API key at https://platform.openai.com/account/api-keys."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := fmt.Sprintf(`{"error":{"message":%q,"type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, tc.message)
			resp, body := call(t, http.MethodPost, s.URL()+"/v1/chat/completions", tc.key, hello+`}`)
			wantStatus(t, resp, body, http.StatusUnauthorized)
			wantJSON(t, body, want)
			resp, body = call(t, http.MethodGet, s.URL()+"/v1/models", tc.key, "")
			wantStatus(t, resp, body, http.StatusUnauthorized)
			wantJSON(t, body, want)
		})
	}
	resp, body := call(t, http.MethodPost, s.URL()+"/v1/chat/completions", "sk-right-key-1234", hello+`}`)
	wantStatus(t, resp, body, http.StatusOK)
	if got := s.Stats(); got.Unauthorized != 4 || got.Requests != 3 || got.Completed != 1 {
		t.Errorf("stats = %+v", got)
	}
	if got := s.LastRequest().Header.Get("Authorization"); got != "Bearer sk-right-key-1234" {
		t.Errorf("LastRequest Authorization = %q", got)
	}
}

func TestChat_NonStream(t *testing.T) {
	s := start(t)
	resp, body := chat(t, s, hello+`,"max_tokens":6,"max_completion_tokens":3}`)
	wantStatus(t, resp, body, http.StatusOK)
	msgs := []fakecloud.Message{{Role: "user", Content: "hello fake world"}}
	wantJSON(t, body, fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion","created":%d,"model":"gpt-oss:120b",`+
		`"choices":[{"index":0,"message":{"role":"assistant","content":%q,"refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"length"}],`+
		`"usage":{"prompt_tokens":%d,"completion_tokens":3,"total_tokens":7,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},`+
		`"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},`+
		`"service_tier":"default","system_fingerprint":"fp_fakecloud"}`,
		created(t, body), fakecloud.ReplyText(msgs, 3), fakecloud.PromptTokens(msgs)))
}

func streamEvents(t *testing.T, s *fakecloud.Server, body string) []string {
	t.Helper()
	resp, b := chat(t, s, body)
	wantStatus(t, resp, b, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	events, err := fakechat.SplitSSE(b)
	if err != nil {
		t.Fatalf("framing: %v\n%s", err, b)
	}
	return events
}

func TestChat_StreamWithUsage(t *testing.T) {
	s := start(t, fakecloud.WithTokens(2))
	events := streamEvents(t, s, hello+`,"stream":true,"stream_options":{"include_usage":true}}`)
	if len(events) != 6 || events[5] != "[DONE]" {
		t.Fatalf("events = %q", events)
	}
	c := created(t, []byte(events[0]))
	head := fmt.Sprintf(`"id":"chatcmpl-1","object":"chat.completion.chunk","created":%d,"model":"gpt-oss:120b","service_tier":"default","system_fingerprint":"fp_fakecloud"`, c)
	want := []string{
		`{` + head + `,"choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{` + head + `,"choices":[{"index":0,"delta":{"content":"hello"},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{` + head + `,"choices":[{"index":0,"delta":{"content":" fake"},"logprobs":null,"finish_reason":null}],"usage":null}`,
		`{` + head + `,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}`,
		`{` + head + `,"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}`,
	}
	for i, w := range want {
		wantJSON(t, []byte(events[i]), w)
	}
}

func TestChat_StreamWithoutUsage(t *testing.T) {
	s := start(t, fakecloud.WithTokens(2))
	events := streamEvents(t, s, hello+`,"stream":true}`)
	if len(events) != 5 || events[4] != "[DONE]" {
		t.Fatalf("events = %q", events)
	}
	for _, e := range events {
		if strings.Contains(e, `"usage"`) {
			t.Errorf("usage key without include_usage: %s", e)
		}
	}
}

func TestChat_MidStreamErrorEvent(t *testing.T) {
	s := start(t)
	s.FailMidStream(1, 2)
	events := streamEvents(t, s, hello+`,"stream":true,"stream_options":{"include_usage":true}}`)
	// role chunk, two content chunks, the error event; no finish, usage or [DONE]
	if len(events) != 4 {
		t.Fatalf("events = %q", events)
	}
	wantJSON(t, []byte(events[3]), `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`)
}

func TestChat_Errors(t *testing.T) {
	s := start(t)
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"unknown model", `{"model":"gpt-9","messages":[{"role":"user","content":"hi"}]}`, 404,
			"{\"error\":{\"message\":\"The model `gpt-9` does not exist or you do not have access to it.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}"},
		{"no messages", `{"model":"gpt-oss:120b","messages":[]}`, 400,
			`{"error":{"message":"[] is too short - 'messages'","type":"invalid_request_error","param":"messages","code":null}}`},
		{"max_tokens below 1", hello + `,"max_tokens":0}`, 400,
			`{"error":{"message":"Invalid 'max_tokens': integer below minimum value. Expected a value \u003e= 1, but got 0 instead.","type":"invalid_request_error","param":"max_tokens","code":"integer_below_min_value"}}`},
		{"stream_options without stream", hello + `,"stream_options":{"include_usage":true}}`, 400,
			`{"error":{"message":"The 'stream_options' parameter is only allowed when 'stream' is enabled.","type":"invalid_request_error","param":"stream_options","code":null}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := chat(t, s, tt.body)
			wantStatus(t, resp, body, tt.status)
			wantJSON(t, body, tt.want)
		})
	}
}

func TestChat_InjectedFailures(t *testing.T) {
	s := start(t)
	s.FailNext(1, http.StatusTooManyRequests)
	s.FailNextWith(1, http.StatusTooManyRequests, "you (tester) have reached your weekly usage limit, upgrade for higher limits: https://ollama.com/upgrade")
	s.FailNext(1, http.StatusInternalServerError)
	s.DropNext(1)

	resp, body := chat(t, s, hello+`}`)
	wantStatus(t, resp, body, http.StatusTooManyRequests)
	wantJSON(t, body, `{"error":{"message":"Rate limit reached for requests. Please try again in 1s.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
	resp, body = chat(t, s, hello+`}`)
	wantStatus(t, resp, body, http.StatusTooManyRequests)
	resp, body = chat(t, s, hello+`,"stream":true}`)
	wantStatus(t, resp, body, http.StatusInternalServerError)
	wantJSON(t, body, `{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}`)

	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/chat/completions", strings.NewReader(hello+`}`))
	req.Header.Set("Authorization", "Bearer "+fakecloud.DefaultAPIKey)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("dropped request got status %d", resp.StatusCode)
	}
	if got := s.Stats(); got.Failed != 4 || got.Requests != 4 {
		t.Errorf("stats = %+v", got)
	}
}

func TestModels(t *testing.T) {
	s := start(t, fakecloud.WithModels("gpt-oss:120b"))
	resp, body := call(t, http.MethodGet, s.URL()+"/v1/models", fakecloud.DefaultAPIKey, "")
	wantStatus(t, resp, body, http.StatusOK)
	wantJSON(t, body, fmt.Sprintf(`{"object":"list","data":[{"id":"gpt-oss:120b","object":"model","created":%d,"owned_by":"library"}]}`, s.Models()[0].ModifiedAt.Unix()))
	resp, body = call(t, http.MethodGet, s.URL()+"/v1/models/gpt-oss:120b", fakecloud.DefaultAPIKey, "")
	wantStatus(t, resp, body, http.StatusOK)
	resp, body = call(t, http.MethodGet, s.URL()+"/v1/models/nope", fakecloud.DefaultAPIKey, "")
	wantStatus(t, resp, body, http.StatusNotFound)
	wantJSON(t, body, "{\"error\":{\"message\":\"The model `nope` does not exist or you do not have access to it.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}")

	s.SetModels()
	_, body = call(t, http.MethodGet, s.URL()+"/v1/models", fakecloud.DefaultAPIKey, "")
	wantJSON(t, body, `{"object":"list","data":[]}`)
}

func TestCancelMidStream(t *testing.T) {
	s := start(t, fakecloud.WithChunkDelay(time.Hour))
	ctx, cancel := context.WithCancel(testContext(t))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/v1/chat/completions", strings.NewReader(hello+`,"stream":true}`))
	req.Header.Set("Authorization", "Bearer "+fakecloud.DefaultAPIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(resp.Body)
	for range 2 { // the role chunk, then the first content chunk
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	resp.Body.Close()
	if err := s.WaitFor(testContext(t), func(st fakecloud.Stats) bool { return st.Cancelled == 1 && st.InFlight == 0 }); err != nil {
		t.Fatal(err)
	}
	if got := s.Stats().TokensEmitted; got != 1 {
		t.Errorf("TokensEmitted = %d, want 1", got)
	}
}

func TestNewHandler(t *testing.T) {
	fake := fakecloud.NewHandler(fakecloud.WithTokens(1), fakecloud.WithLatency(0), fakecloud.WithParallel(0, 0))
	defer fake.Close()
	if fake.URL() != "" {
		t.Errorf("URL = %q for an unstarted handler", fake.URL())
	}
	ts := httptest.NewServer(fake.Handler())
	defer ts.Close()
	resp, body := call(t, http.MethodPost, ts.URL+"/v1/chat/completions", fakecloud.DefaultAPIKey, hello+`}`)
	wantStatus(t, resp, body, http.StatusOK)
	if !strings.Contains(string(body), `"completion_tokens":1`) {
		t.Errorf("body = %s", body)
	}
}
