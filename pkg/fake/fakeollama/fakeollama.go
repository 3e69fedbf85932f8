// Package fakeollama is a contract-exact fake Ollama server. The gateway's
// tests run against it on a real 127.0.0.1 listener, so streaming, queueing,
// failures and client disconnects are real; `make run` serves it (through
// pkg/cmd/fakeollama) when no real Ollama answers. It uses only the standard
// library and serves what the gateway uses of Ollama, byte for byte where
// the wire format is known (Ollama's API docs, and github.com/ollama/ollama
// openai/openai.go, middleware/openai.go, server/routes.go):
//
//	GET/HEAD /                    "Ollama is running"
//	GET/HEAD /api/version         {"version":"0.x.y"}
//	GET/HEAD /api/tags            {"models":[{name,model,modified_at,size,digest,details}]}
//	POST     /api/chat            NDJSON stream by default, one object with "stream":false
//	POST     /v1/chat/completions OpenAI-compatible, JSON or SSE
//	GET      /v1/models           {"object":"list","data":[…]}; "data":null with no models
//	GET      /v1/models/{model}   one model, or 404
//
// # The deterministic model
//
// A reply is ReplyText(messages, n): n words taken in turn from the last user
// message, n being the token setting (DefaultTokens unless changed) capped
// by max_tokens (/v1) or options.num_predict (/api/chat); a cap that cuts the
// reply gives finish reason "length". Every word is one completion token and
// one content chunk. Prompt tokens are PromptTokens(messages) =
// max(1, ceil(bytes of all messages' text / 4)). So a test knows the exact
// usage, and the exact bill, of every request. max_completion_tokens and n
// are ignored, as Ollama ignores them.
//
// # /v1 streams
//
// As Ollama: every chunk's delta is {"role":"assistant","content":…}; the
// content chunks are followed by a separate finish chunk with empty content
// and the finish reason; a usage chunk with "choices":[] follows only when
// stream_options.include_usage is true, and no other chunk has a usage key;
// then `data: [DONE]`. A generation failure (FailMidStream) ends the stream
// the way Ollama's chat writer does: one empty chunk with "model":"" (its
// decoding of the runner's error line), then the end of the body, with no
// finish chunk, usage or [DONE]. On /api/chat it is a last line {"error":…}.
//
// # Errors
//
// Unknown model: 404 {"error":"model \"x\" not found, try pulling it first"}
// natively, and on /v1 {"error":{"message":…,"type":"not_found_error",
// "param":null,"code":null}} (type invalid_request_error for 400, api_error
// otherwise). Queue full: 503 "server busy, please try again.  maximum
// pending requests exceeded" (two spaces, as Ollama). Embedding models
// (bge-m3, nomic-embed-text…): 400 "\"bge-m3\" does not support chat".
//
// # Test controls
//
// A Server's methods below are promoted from the shared controls (go doc
// github.com/resayil/portal/pkg/fake/internal/fakechat Controls); all are
// safe for concurrent use and count only chat requests:
//
//	SetModels(names ...string); Models() []Model
//	SetLatency(d); SetChunkDelay(d); SetTokens(n)
//	SetParallel(parallel, maxQueue int)          // OLLAMA_NUM_PARALLEL, OLLAMA_MAX_QUEUE
//	FailNext(n, status int); FailNextWith(n, status int, message string)
//	DropNext(n int)                              // close the connection before any byte
//	FailMidStream(n, after int)                  // fail after `after` content chunks
//	AnswerInOtherShape(n int)                    // a stream to a non-streaming request, JSON to a streaming one
//	OmitUsage(n int)                             // no usage member, no usage chunk
//	Pause(); Resume()                            // hold admitted requests before their first byte
//	Stats() Stats; LastRequest() Received; LastRequestBody() []byte
//	WaitFor(ctx, func(Stats) bool) error; WaitInFlight(ctx, n int) error
//
// Stats has Requests, InFlight (queued included), MaxInFlight, Running,
// Queued, Completed, Cancelled (client gone before the end: seen through the
// request context while queued, paused, sleeping or streaming, or a failed
// write), Rejected (503 queue full), Failed (injected), Unauthorized and
// TokensEmitted. WaitFor is woken by every change of them: no polling, no
// sleeps.
package fakeollama

import (
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/resayil/portal/pkg/fake/internal/fakechat"
)

// DefaultVersion is what /api/version reports unless WithVersion says otherwise.
const DefaultVersion = "0.13.5"

// DefaultTokens is the completion tokens of a reply unless changed.
const DefaultTokens = fakechat.DefaultTokens

// DefaultModels are the models installed unless WithModels says otherwise.
func DefaultModels() []string {
	return []string{"llama3.2:3b", "qwen2.5:7b", "llama3.1:70b", "glm-4.7-flash", "bge-m3", "nomic-embed-text"}
}

type (
	// Option configures a Server.
	Option = fakechat.Option
	// Stats is a snapshot of a Server's counters.
	Stats = fakechat.Stats
	// Received is a chat request as it arrived.
	Received = fakechat.Received
	// Model is an installed model and its /api/tags details.
	Model = fakechat.Model
	// Message is a chat message's role and text, for PromptTokens and ReplyText.
	Message = fakechat.Message

	controls = fakechat.Controls
)

// WithModels sets the installed models; a name without a tag gets ":latest".
// No names at all means none installed.
func WithModels(names ...string) Option { return fakechat.WithModels(names...) }

// WithLatency sets the delay before the first byte of every chat response.
func WithLatency(d time.Duration) Option { return fakechat.WithLatency(d) }

// WithChunkDelay sets the delay between streamed chunks.
func WithChunkDelay(d time.Duration) Option { return fakechat.WithChunkDelay(d) }

// WithTokens sets the completion tokens of a reply (before max_tokens).
func WithTokens(n int) Option { return fakechat.WithTokens(n) }

// WithParallel emulates OLLAMA_NUM_PARALLEL and OLLAMA_MAX_QUEUE; parallel 0
// (the default) means no limit.
func WithParallel(parallel, maxQueue int) Option { return fakechat.WithParallel(parallel, maxQueue) }

// WithVersion sets what /api/version reports.
func WithVersion(v string) Option { return func(c *fakechat.Config) { c.Version = v } }

// PromptTokens is the prompt token count the fake reports for messages:
// max(1, ceil(total UTF-8 bytes of their text / 4)).
func PromptTokens(messages []Message) int { return fakechat.PromptTokens(messages) }

// ReplyText is the reply content for messages when tokens tokens are generated.
func ReplyText(messages []Message, tokens int) string { return fakechat.ReplyText(messages, tokens) }

// Server is a fake Ollama. Its embedded controls are its test controls.
type Server struct {
	*controls
	mux     *http.ServeMux
	ts      *httptest.Server
	version string
}

// New starts a fake Ollama on 127.0.0.1 at a free port; see URL and Close.
func New(opts ...Option) *Server {
	s := NewHandler(opts...)
	s.ts = httptest.NewServer(s.mux)
	return s
}

// NewHandler returns a fake Ollama that does not listen: serve Handler on an
// address of your own (the dev program does), and Close it when done.
func NewHandler(opts ...Option) *Server {
	cfg := fakechat.Build(fakechat.Config{Models: DefaultModels(), Version: DefaultVersion}, opts)
	s := &Server{controls: fakechat.NewControls(cfg), mux: http.NewServeMux(), version: cfg.Version}
	v1 := fakechat.V1{Dialect: fakechat.Ollama}
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("Ollama is running"))
	})
	s.mux.HandleFunc("GET /api/version", s.serveVersion)
	s.mux.HandleFunc("GET /api/tags", s.serveTags)
	s.mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) {
		fakechat.ServeChat(s.controls, w, r, native{})
	})
	s.mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		fakechat.ServeChat(s.controls, w, r, v1)
	})
	s.mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		fakechat.ServeModels(s.controls, w, r, v1, fakechat.Ollama)
	})
	s.mux.HandleFunc("GET /v1/models/{model...}", func(w http.ResponseWriter, r *http.Request) {
		fakechat.ServeModel(s.controls, w, r, v1)
	})
	return s
}

// URL is the base URL of a Server started by New, without a trailing slash
// ("" for NewHandler). The OpenAI base URL is URL()+"/v1".
func (s *Server) URL() string {
	if s.ts == nil {
		return ""
	}
	return s.ts.URL
}

// Handler is the fake's HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// Close releases held requests and, for New, stops the listener and closes
// every connection. It is idempotent.
func (s *Server) Close() {
	s.controls.Close()
	if s.ts != nil {
		s.ts.CloseClientConnections()
		s.ts.Close()
	}
}
