package app_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/fake/fakeollama"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
)

var modes = []struct {
	name string
	opts gatewaytest.Options
}{
	{"embedded", gatewaytest.Options{}},
	{"redis", gatewaytest.Options{Redis: true}},
}

func client(g *gatewaytest.Gateway, key string) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
	return &c
}

func params(model string, maxTokens int64) openai.ChatCompletionNewParams {
	p := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello fake world")}}
	if maxTokens > 0 {
		p.MaxTokens = openai.Int(maxTokens)
	}
	return p
}

func apiError(t *testing.T, err error) *openai.Error {
	t.Helper()
	var ae *openai.Error
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae
}

func TestE2E_NonStreamingBillsExactly(t *testing.T) {
	eachMode(t, 100, func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User) {
		var raw *http.Response
		c := client(g, u.Key)
		resp, err := c.Chat.Completions.New(context.Background(), params("llama3.2:3b", 0), option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		want := fakeollama.ReplyText([]fakeollama.Message{{Role: "user", Content: "hello fake world"}}, fakeollama.DefaultTokens)
		if resp.Choices[0].Message.Content != want || resp.Model != "llama3.2:3b" {
			t.Fatalf("answer %q model %q", resp.Choices[0].Message.Content, resp.Model)
		}
		// prompt 4 + completion 8 = 12 tokens at 1 credit per 1k, local: 1 credit.
		if resp.Usage.TotalTokens != 12 {
			t.Fatalf("usage %+v", resp.Usage)
		}
		h := raw.Header
		if h.Get("x-resayil-backend") != "local" || h.Get("x-resayil-credits-charged") != "1" || h.Get("x-resayil-credits-remaining") != "99" || h.Get("x-request-id") == "" {
			t.Fatalf("headers %v", h)
		}
		if h.Get("x-ratelimit-limit-requests") != "10" || h.Get("x-ratelimit-remaining-requests") != "9" || h.Get("x-ratelimit-reset-requests") == "" {
			t.Fatalf("rate-limit headers %v", h)
		}
		if b := g.Balance(t, u.Account); b.Total != 99 || b.Held != 0 {
			t.Fatalf("balance %+v", b)
		}
		if n := g.WaitUsage(t, u.Account, 1); n != 1 {
			t.Fatalf("%d usage records", n)
		}
		var rid, crid, status string
		var credits, total int
		if err := g.DB.SQL.QueryRow(`SELECT request_id, client_request_id, status, credits, total_tokens FROM usage_records WHERE account_id = ?`, u.Account).Scan(&rid, &crid, &status, &credits, &total); err != nil {
			t.Fatal(err)
		}
		if rid != h.Get("x-request-id") || status != "ok" || credits != 1 || total != 12 {
			t.Fatalf("usage record %s %s %d %d", rid, status, credits, total)
		}
	})
}

func TestE2E_StreamingRelaysAndBills(t *testing.T) {
	eachMode(t, 100, func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User) {
		c := client(g, u.Key)
		for _, includeUsage := range []bool{false, true} {
			p := params("llama3.2:3b", 0)
			if includeUsage {
				p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
			}
			s := c.Chat.Completions.NewStreaming(context.Background(), p)
			var text strings.Builder
			var usage int64
			for s.Next() {
				ch := s.Current()
				if len(ch.Choices) > 0 {
					text.WriteString(ch.Choices[0].Delta.Content)
				}
				if ch.Usage.TotalTokens > 0 {
					usage = ch.Usage.TotalTokens
				}
			}
			if err := s.Err(); err != nil {
				t.Fatal(err)
			}
			if text.Len() == 0 {
				t.Fatal("no content streamed")
			}
			if includeUsage && usage != 12 || !includeUsage && usage != 0 {
				t.Fatalf("include_usage=%v: usage chunk total %d", includeUsage, usage)
			}
			body := string(g.Ollama.LastRequestBody())
			if !strings.Contains(body, `"include_usage":true`) {
				t.Fatalf("upstream was not asked for usage: %s", body)
			}
		}
		// The stream settles right after its last event reaches the client.
		if b := waitBalance(t, g, u.Account, 98); b.Total != 98 || b.Held != 0 {
			t.Fatalf("two streams of 12 tokens must cost 2 credits, balance %+v", b)
		}
		if n := g.WaitUsage(t, u.Account, 2); n != 2 {
			t.Fatalf("%d usage records", n)
		}
	})
}

func TestE2E_SDKErrors(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	ctx := context.Background()
	basic := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	g.Fund(t, basic.Account, 1000)
	broke := gatewaytest.NewUser(t, g.DB, "", time.Time{})

	_, err := client(g, "sk-not-a-real-key-000000000000").Chat.Completions.New(ctx, params("llama3.2:3b", 0))
	if ae := apiError(t, err); ae.StatusCode != 401 || ae.Code != "invalid_api_key" {
		t.Fatalf("401: %d %s", ae.StatusCode, ae.Code)
	}
	var raw *http.Response
	_, err = client(g, broke.Key).Chat.Completions.New(ctx, params("llama3.2:3b", 0), option.WithResponseInto(&raw))
	ae := apiError(t, err)
	if ae.StatusCode != 402 || ae.Code != "insufficient_quota" || !strings.Contains(ae.Message, "/billing") || raw.Header.Get("x-should-retry") != "false" {
		t.Fatalf("402: %d %s %q %v", ae.StatusCode, ae.Code, ae.Message, raw.Header)
	}
	_, err = client(g, basic.Key).Chat.Completions.New(ctx, params("llama3.1:70b", 0))
	if ae := apiError(t, err); ae.StatusCode != 403 || ae.Code != "model_not_allowed" || !strings.Contains(ae.Message, "Pro plan") {
		t.Fatalf("403: %d %s %q", ae.StatusCode, ae.Code, ae.Message)
	}
	// A restricted model gets exactly the answer an unknown one gets (invariant 4).
	_, errUnknown := client(g, basic.Key).Chat.Completions.New(ctx, params("no-such-model", 0))
	_, errRestricted := client(g, basic.Key).Chat.Completions.New(ctx, params("glm-4.7-flash", 0))
	u, r := apiError(t, errUnknown), apiError(t, errRestricted)
	if u.StatusCode != 404 || u.Code != "model_not_found" || r.StatusCode != 404 || r.Code != u.Code ||
		strings.ReplaceAll(r.Message, "glm-4.7-flash", "X") != strings.ReplaceAll(u.Message, "no-such-model", "X") {
		t.Fatalf("404s differ:\n%+v\n%+v", u, r)
	}
	// Basic allows 10 requests a minute per account.
	for i := 0; i < 10; i++ {
		if _, err := client(g, basic.Key).Chat.Completions.New(ctx, params("llama3.2:3b", 0)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	_, err = client(g, basic.Key).Chat.Completions.New(ctx, params("llama3.2:3b", 0), option.WithResponseInto(&raw))
	ae = apiError(t, err)
	if ae.StatusCode != 429 || ae.Code != "rate_limit_exceeded" || raw.Header.Get("Retry-After") == "" || raw.Header.Get("x-ratelimit-remaining-requests") != "0" {
		t.Fatalf("429: %d %s %v", ae.StatusCode, ae.Code, raw.Header)
	}
}

func TestE2E_BadRequests(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	cases := map[string]string{
		"model":    `{"messages":[{"role":"user","content":"hi"}]}`,
		"messages": `{"model":"llama3.2:3b","messages":[]}`,
		"":         `{"model":`,
	}
	for param, body := range cases {
		req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+u.Key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"type":"invalid_request_error"`) ||
			(param != "" && !strings.Contains(string(b), fmt.Sprintf(`"param":%q`, param))) {
			t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
		}
	}
	big := `{"model":"llama3.2:3b","messages":[{"role":"user","content":"` + strings.Repeat("a", 5<<20) + `"}]}`
	req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(big))
	req.Header.Set("Authorization", "Bearer "+u.Key)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 && resp.StatusCode != 413 || !strings.Contains(string(b), "too large") {
			t.Fatalf("oversized body: %d %s", resp.StatusCode, b)
		}
	}
}

func TestE2E_ModelsByTier(t *testing.T) {
	g := gatewaytest.Start(t, gatewaytest.Options{})
	ctx := context.Background()
	basic := gatewaytest.NewUser(t, g.DB, "", time.Time{})
	ent := gatewaytest.NewUser(t, g.DB, "enterprise", time.Now().Add(time.Hour))
	ids := func(key string) string {
		page, err := client(g, key).Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, m := range page.Data {
			s = append(s, m.ID)
		}
		return strings.Join(s, ",")
	}
	if got := ids(basic.Key); got != "llama3.2:3b,qwen2.5:7b" {
		t.Fatalf("basic sees %s", got)
	}
	if got := ids(ent.Key); got != "llama3.2:3b,qwen2.5:7b,llama3.1:70b,qwen3:235b,gpt-oss:120b-cloud" {
		t.Fatalf("enterprise sees %s", got)
	}
	if m, err := client(g, ent.Key).Models.Get(ctx, "qwen3:235b"); err != nil || m.ID != "qwen3:235b" {
		t.Fatalf("get: %v %v", m, err)
	}
	for _, id := range []string{"glm-4.7-flash", "llama3.1:70b", "nope"} {
		_, err := client(g, basic.Key).Models.Get(ctx, id)
		if ae := apiError(t, err); ae.StatusCode != 404 || ae.Code != "model_not_found" {
			t.Fatalf("%s: %d %s", id, ae.StatusCode, ae.Code)
		}
	}
}

// TestE2E_ConcurrentRequestsNeverOverspend is invariant 1 end to end: a
// balance for exactly 10 requests, 200 at once, on a plan whose limit is
// above 200.
func TestE2E_ConcurrentRequestsNeverOverspend(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			g := gatewaytest.Start(t, m.opts)
			gatewaytest.SetRateLimit(t, g.DB, "basic", 1000)
			g.App.Plans.Reload(context.Background())
			u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
			g.Fund(t, u.Account, 10)
			c := client(g, u.Key)
			var mu sync.Mutex
			codes := map[int]int{}
			var wg sync.WaitGroup
			for i := 0; i < 200; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// 8 estimated prompt tokens + max_tokens 8 = a 1-credit hold.
					_, err := c.Chat.Completions.New(context.Background(), params("llama3.2:3b", 8))
					code := 200
					if err != nil {
						code = apiError(t, err).StatusCode
					}
					mu.Lock()
					codes[code]++
					mu.Unlock()
				}()
			}
			wg.Wait()
			if codes[200] != 10 || codes[402] != 190 {
				t.Fatalf("status counts %v, want 10×200 and 190×402", codes)
			}
			if b := g.Balance(t, u.Account); b.Total != 0 || b.Held != 0 {
				t.Fatalf("balance %+v, want 0", b)
			}
			if n := g.WaitUsage(t, u.Account, 10); n != 10 {
				t.Fatalf("%d usage records, want 10", n)
			}
			// Every slot came back, those the 190 refused requests took
			// in their admission round trip (Redis mode) included.
			noSlotTaken(t, g)
		})
	}
}

// noSlotTaken fails unless every local slot is free, in the capacity store
// and in this gateway's pool.
func noSlotTaken(t *testing.T, g *gatewaytest.Gateway) {
	t.Helper()
	st, err := g.App.Router.Pool().Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for host, n := range st.InFlight {
		if n != 0 {
			t.Fatalf("host %s: %d slots taken after every request ended", host, n)
		}
	}
	if n := g.App.Router.Pool().Held(); n != 0 {
		t.Fatalf("the pool holds %d slots after every request ended", n)
	}
}

// TestE2E_DisconnectCancelsUpstreamAndBillsPartial is invariant 6.
func TestE2E_DisconnectCancelsUpstreamAndBillsPartial(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			up := fakeollama.New(fakeollama.WithTokens(2000), fakeollama.WithChunkDelay(5*time.Millisecond))
			defer up.Close()
			o := m.opts
			o.Ollama = up
			g := gatewaytest.Start(t, o)
			u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
			g.Fund(t, u.Account, 1000)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := client(g, u.Key).Chat.Completions.NewStreaming(ctx, params("llama3.2:3b", 0))
			got := 0
			for s.Next() {
				if got++; got == 20 {
					cancel()
					break
				}
			}
			s.Close()
			wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer wcancel()
			if err := up.WaitFor(wctx, func(st fakeollama.Stats) bool { return st.Cancelled >= 1 }); err != nil {
				t.Fatalf("upstream not cancelled after the client left: %+v", up.Stats())
			}
			if n := g.WaitUsage(t, u.Account, 1); n != 1 {
				t.Fatalf("%d usage records", n)
			}
			var status string
			var completion, credits int
			if err := g.DB.SQL.QueryRow(`SELECT status, completion_tokens, credits FROM usage_records WHERE account_id = ?`, u.Account).Scan(&status, &completion, &credits); err != nil {
				t.Fatal(err)
			}
			if status != "client_closed" || completion < 20 || completion >= 2000 || credits < 1 {
				t.Fatalf("partial usage: status %s, %d completion tokens, %d credits", status, completion, credits)
			}
		})
	}
}

func waitBalance(t *testing.T, g *gatewaytest.Gateway, acct resayil.AccountID, total resayil.Credits) wallet.Balance {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b := g.Balance(t, acct)
		if (b.Total == total && b.Held == 0) || time.Now().After(deadline) {
			return b
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ = testenv.Backends
