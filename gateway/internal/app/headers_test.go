package app_test

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/fake/fakecloud"
	"github.com/resayil/portal/pkg/fake/fakeollama"
)

// The README's statements about the gateway's response headers, each one a
// subtest over the same answers of one real gateway (embedded and Redis
// mode): every kind of answer the API listener gives, each request sent
// with a client X-Request-Id.
//
//   - x-request-id: the gateway's own id on every answer, never the
//     client's; on a chat completion it is the billing id.
//   - x-ratelimit-*: on every chat completion the rate limiter counted:
//     200 (streaming or not), 402, 429, and the 5xx of a request admitted
//     then not served; on nothing else.
//   - x-resayil-backend: on chat completions a model answered (200), local
//     or cloud; on nothing else.

const clientRequestID = "client-supplied-id-1"

type headerCase struct {
	name   string
	status int
	// limited: the answer carries x-ratelimit-*; backend: x-resayil-backend.
	limited bool
	backend string
	answer  answer
}

// headerAnswers sends one request of each kind to a gateway whose local
// Ollama has only llama3.2:3b (so qwen2.5:7b, which Basic may not take to
// the cloud, is admitted then answered 503) and which has a cloud.
func headerAnswers(t *testing.T, redis bool) (*gatewaytest.Gateway, []headerCase) {
	t.Helper()
	ol := fakeollama.New(fakeollama.WithModels("llama3.2:3b"))
	t.Cleanup(ol.Close)
	cloud := fakecloud.New()
	t.Cleanup(cloud.Close)
	g := gatewaytest.Start(t, gatewaytest.Options{Redis: redis, Ollama: ol, Env: []string{
		"RESAYIL_MAX_BODY_BYTES=1024", "RESAYIL_CLOUD_URL=" + cloud.URL(), "RESAYIL_CLOUD_API_KEY=" + fakecloud.DefaultAPIKey,
	}})
	month := time.Now().Add(30 * 24 * time.Hour)
	basic := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	g.Fund(t, basic.Account, 1000)
	pro := gatewaytest.NewUser(t, g.DB, "pro", month)
	g.Fund(t, pro.Account, 1000)
	broke := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	limited := gatewaytest.NewUser(t, g.DB, "", time.Time{}) // broke too: its 402s count

	chatBody := func(model string, stream bool) string {
		return fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"hello fake world"}],"stream":%v}`, model, stream)
	}
	do := func(method, path, key, body string) answer {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, g.URL+path, r)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("X-Request-Id", clientRequestID)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{status: resp.StatusCode, header: resp.Header, body: b}
	}
	chat := func(key, body string) answer { return do(http.MethodPost, "/v1/chat/completions", key, body) }

	for range 10 { // Basic: 10 requests a minute, refused or not
		if a := chat(limited.Key, chatBody("llama3.2:3b", false)); a.status != 402 {
			t.Fatalf("want 402 before the limit, got %s", a)
		}
	}
	cases := []headerCase{
		{name: "chat 200", status: 200, limited: true, backend: "local", answer: chat(basic.Key, chatBody("llama3.2:3b", false))},
		{name: "chat 200 stream", status: 200, limited: true, backend: "local", answer: chat(basic.Key, chatBody("llama3.2:3b", true))},
		{name: "chat 200 cloud", status: 200, limited: true, backend: "cloud", answer: chat(pro.Key, chatBody("gpt-oss:120b-cloud", false))},
		{name: "chat 402", status: 402, limited: true, answer: chat(broke.Key, chatBody("llama3.2:3b", false))},
		{name: "chat 429", status: 429, limited: true, answer: chat(limited.Key, chatBody("llama3.2:3b", false))},
		{name: "chat 503 admitted, not served", status: 503, limited: true, answer: chat(basic.Key, chatBody("qwen2.5:7b", false))},
		{name: "chat 400", status: 400, answer: chat(basic.Key, `{"model":`)},
		{name: "chat 401", status: 401, answer: chat("sk-not-a-real-key-000000000000", chatBody("llama3.2:3b", false))},
		{name: "chat 403 model", status: 403, answer: chat(basic.Key, chatBody("llama3.1:70b", false))},
		{name: "chat 404 model", status: 404, answer: chat(basic.Key, chatBody("no-such-model", false))},
		{name: "chat 413", status: 413, answer: chat(basic.Key, chatBody(strings.Repeat("x", 2048), false))},
		{name: "models 200", status: 200, answer: do(http.MethodGet, "/v1/models", basic.Key, "")},
		{name: "models 401", status: 401, answer: do(http.MethodGet, "/v1/models", "", "")},
		{name: "model 200", status: 200, answer: do(http.MethodGet, "/v1/models/llama3.2:3b", basic.Key, "")},
		{name: "model 404", status: 404, answer: do(http.MethodGet, "/v1/models/glm-4.7-flash", basic.Key, "")},
		{name: "unknown route 404", status: 404, answer: do(http.MethodGet, "/v1/nothing", basic.Key, "")},
		{name: "healthz", status: 200, answer: do(http.MethodGet, "/healthz", "", "")},
		{name: "readyz", status: 200, answer: do(http.MethodGet, "/readyz", "", "")},
	}
	for _, c := range cases {
		if c.answer.status != c.status {
			t.Fatalf("%s: want %d, got %s", c.name, c.status, c.answer)
		}
	}
	return g, cases
}

func TestResponseHeaders(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			g, cases := headerAnswers(t, m.opts.Redis)

			t.Run("x-request-id is the gateway's own on every answer", func(t *testing.T) {
				seen := map[string]string{}
				for _, c := range cases {
					id := c.answer.header.Get("x-request-id")
					if _, err := hex.DecodeString(id); err != nil || len(id) != 32 {
						t.Errorf("%s: x-request-id %q, want the gateway's 32-hex id", c.name, id)
					}
					if prev, dup := seen[id]; dup {
						t.Errorf("%s and %s share x-request-id %q", prev, c.name, id)
					}
					seen[id] = c.name
				}
				// On a chat completion it is the billing id; the client's id
				// is kept beside it.
				id := cases[0].answer.header.Get("x-request-id")
				deadline := time.Now().Add(10 * time.Second)
				var crid string
				for {
					err := g.DB.SQL.QueryRow(`SELECT client_request_id FROM usage_records WHERE request_id = ?`, id).Scan(&crid)
					if err == nil || time.Now().After(deadline) {
						if err != nil {
							t.Fatalf("no usage record with request_id %s: %v", id, err)
						}
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
				if crid != clientRequestID {
					t.Fatalf("usage record %s: client_request_id %q, want %q", id, crid, clientRequestID)
				}
			})

			t.Run("x-ratelimit-* on every chat completion the limiter counted, on nothing else", func(t *testing.T) {
				for _, c := range cases {
					h := c.answer.header
					for _, name := range []string{"x-ratelimit-limit-requests", "x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"} {
						if got := h.Get(name); (got != "") != c.limited {
							t.Errorf("%s: %s = %q, want present: %v", c.name, name, got, c.limited)
						}
					}
				}
				for _, c := range cases {
					if c.name == "chat 429" && c.answer.header.Get("x-ratelimit-remaining-requests") != "0" {
						t.Errorf("429: x-ratelimit-remaining-requests %q, want 0", c.answer.header.Get("x-ratelimit-remaining-requests"))
					}
				}
			})

			t.Run("x-resayil-backend on answers a model gave, on nothing else", func(t *testing.T) {
				for _, c := range cases {
					if got := c.answer.header.Get("x-resayil-backend"); got != c.backend {
						t.Errorf("%s: x-resayil-backend %q, want %q", c.name, got, c.backend)
					}
				}
			})
		})
	}
}
