// Package fakecloud is a fake OpenAI-compatible cloud upstream (OpenAI, or
// Ollama Cloud's https://ollama.com/v1), for the gateway's failover tests. It
// differs from fakeollama exactly where OpenAI's chat completions API
// differs from Ollama's OpenAI-compatible one:
//
//   - every route needs `Authorization: Bearer <key>`; otherwise 401
//     {"error":{"message":…,"type":"invalid_request_error","param":null,"code":"invalid_api_key"}};
//   - streams start with a role chunk {"role":"assistant","content":"","refusal":null},
//     then {"content":…} chunks, then a finish chunk with "delta":{}; with
//     stream_options.include_usage every chunk carries "usage":null and a
//     last chunk with "choices":[] carries the usage (with OpenAI's
//     *_tokens_details); without it there is no usage key;
//   - a generation failure after the 200 is an error event
//     `data: {"error":{…,"type":"server_error"}}`, then the end, without [DONE];
//   - max_tokens and max_completion_tokens are both honoured (the smaller
//     wins; below 1 is a 400); stream_options without stream is a 400;
//   - an unknown model is 404 with code "model_not_found"; GET /v1/models
//     lists [] when empty; ids are "chatcmpl-<n>", the fingerprint "fp_fakecloud".
//
// Served: POST /v1/chat/completions, GET /v1/models, GET /v1/models/{model}.
// The reply, the token counts (PromptTokens, ReplyText) and the test
// controls are those of fakeollama; n is ignored (one choice).
package fakecloud

import (
	"crypto/subtle"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/fake/internal/fakechat"
)

// DefaultAPIKey is the key accepted unless WithAPIKey says otherwise.
const DefaultAPIKey = "sk-fakecloud-test-key"

// DefaultTokens is the completion tokens of a reply unless changed.
const DefaultTokens = fakechat.DefaultTokens

// DefaultModels are the models served unless WithModels says otherwise.
func DefaultModels() []string {
	return []string{"gpt-oss:120b", "gpt-oss:20b", "qwen3-coder:480b", "deepseek-v3.1:671b"}
}

type (
	// Option configures a Server.
	Option = fakechat.Option
	// Stats is a snapshot of a Server's counters.
	Stats = fakechat.Stats
	// Received is a chat request as it arrived.
	Received = fakechat.Received
	// Model is a served model.
	Model = fakechat.Model
	// Message is a chat message's role and text, for PromptTokens and ReplyText.
	Message = fakechat.Message

	controls = fakechat.Controls
)

// WithAPIKey sets the accepted bearer keys (replacing DefaultAPIKey).
func WithAPIKey(keys ...string) Option {
	return func(c *fakechat.Config) { c.APIKeys = append([]string(nil), keys...) }
}

// WithModels sets the served models.
func WithModels(names ...string) Option { return fakechat.WithModels(names...) }

// WithLatency sets the delay before the first byte of every chat response.
func WithLatency(d time.Duration) Option { return fakechat.WithLatency(d) }

// WithChunkDelay sets the delay between streamed chunks.
func WithChunkDelay(d time.Duration) Option { return fakechat.WithChunkDelay(d) }

// WithTokens sets the completion tokens of a reply (before max_tokens).
func WithTokens(n int) Option { return fakechat.WithTokens(n) }

// WithParallel limits concurrent generations and the queue before 503.
func WithParallel(parallel, maxQueue int) Option { return fakechat.WithParallel(parallel, maxQueue) }

// PromptTokens is the prompt token count the fake reports for messages:
// max(1, ceil(total UTF-8 bytes of their text / 4)).
func PromptTokens(messages []Message) int { return fakechat.PromptTokens(messages) }

// ReplyText is the reply content for messages when tokens tokens are generated.
func ReplyText(messages []Message, tokens int) string { return fakechat.ReplyText(messages, tokens) }

// Server is a fake cloud upstream. Its embedded controls are its test controls.
type Server struct {
	*controls
	mux *http.ServeMux
	ts  *httptest.Server
}

// New starts a fake cloud upstream on 127.0.0.1 at a free port.
func New(opts ...Option) *Server {
	s := NewHandler(opts...)
	s.ts = httptest.NewServer(s.mux)
	return s
}

// NewHandler returns a fake cloud upstream that does not listen.
func NewHandler(opts ...Option) *Server {
	cfg := fakechat.Build(fakechat.Config{Models: DefaultModels(), APIKeys: []string{DefaultAPIKey}}, opts)
	s := &Server{controls: fakechat.NewControls(cfg), mux: http.NewServeMux()}
	p := protocol{V1: fakechat.V1{Dialect: fakechat.OpenAI}, keys: cfg.APIKeys}
	s.mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		fakechat.ServeChat(s.controls, w, r, p)
	})
	s.mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		fakechat.ServeModels(s.controls, w, r, p, fakechat.OpenAI)
	})
	s.mux.HandleFunc("GET /v1/models/{model...}", func(w http.ResponseWriter, r *http.Request) {
		fakechat.ServeModel(s.controls, w, r, p)
	})
	return s
}

// URL is the base URL of a Server started by New ("" for NewHandler); the
// OpenAI base URL is URL()+"/v1".
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Handler is the fake's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Close releases held requests and, for New, stops the listener.
func (s *Server) Close() {
	s.controls.Close()
	if s.ts != nil {
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
}

// protocol is OpenAI's /v1 with bearer-key checks.
type protocol struct {
	fakechat.V1
	keys []string
}

func (p protocol) Authorize(r *http.Request) *fakechat.Failure {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		return &fakechat.Failure{Status: http.StatusUnauthorized, Code: "invalid_api_key",
			Message: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."}
	}
	if slices.ContainsFunc(p.keys, func(k string) bool { return subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1 }) {
		return nil
	}
	return &fakechat.Failure{Status: http.StatusUnauthorized, Code: "invalid_api_key",
		Message: "Incorrect API key provided: " + redact(key) + ". You can find your API key at https://platform.openai.com/account/api-keys."}
}

// redact shows a key the way OpenAI's message does: its start and its last four.
func redact(key string) string {
	if len(key) <= 8 {
		return strings.Repeat("*", len(key))
	}
	return key[:3] + strings.Repeat("*", len(key)-7) + key[len(key)-4:]
}
