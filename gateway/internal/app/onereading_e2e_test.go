package app_test

// One reading of a request: what the upstream (a Go decoder, like the fake's)
// reads is what the gateway checked and billed. Every case runs through the
// real gateway in both modes against the fake Ollama, whose /v1 decodes a
// request into a Go struct exactly as Ollama does.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/fake/fakeollama"
	"github.com/resayil/portal/pkg/resayil"
)

// eachMode runs test in both modes, in parallel, each on a fresh gateway
// with a Basic user funded with credits.
func eachMode(t *testing.T, credits resayil.Credits, test func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User)) {
	eachModeWith(t, credits, nil, test)
}

// eachModeWith is eachMode with extra RESAYIL_ variables.
func eachModeWith(t *testing.T, credits resayil.Credits, env []string, test func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			o := m.opts
			o.Env = append(append([]string(nil), o.Env...), env...)
			g := gatewaytest.Start(t, o)
			u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
			g.Fund(t, u.Account, credits)
			test(t, g, u)
		})
	}
}

// postBody sends a raw chat body and reads the whole answer.
func postBody(t *testing.T, g *gatewaytest.Gateway, key, body string) answer {
	t.Helper()
	a, err := tryBody(g, key, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryBody is postBody for goroutines other than the test's: it returns
// what went wrong instead of failing the test.
func tryBody(g *gatewaytest.Gateway, key, body string) (answer, error) {
	req, err := http.NewRequest(http.MethodPost, g.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b, done: time.Now()}, nil
}

// errorOf decodes an OpenAI-shaped error answer.
func errorOf(t *testing.T, a answer) (typ, code, param, msg string) {
	t.Helper()
	var e struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(a.body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an OpenAI error: %s", a)
	}
	if e.Error.Param != nil {
		param = *e.Error.Param
	}
	if e.Error.Code != nil {
		code = *e.Error.Code
	}
	return e.Error.Type, code, param, e.Error.Message
}

// usageOf reads the usage of a non-streaming answer.
func usageOf(t *testing.T, a answer) int64 {
	t.Helper()
	var c struct {
		Usage *struct {
			TotalTokens int64 `json:"total_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(a.body, &c); err != nil || c.Usage == nil {
		t.Fatalf("no usage in %s", a)
	}
	return c.Usage.TotalTokens
}

func charged(t *testing.T, a answer) resayil.Credits {
	t.Helper()
	n, err := strconv.ParseInt(a.header.Get("x-resayil-credits-charged"), 10, 64)
	if err != nil {
		t.Fatalf("no x-resayil-credits-charged on %s", a)
	}
	return resayil.Credits(n)
}

func metric(t *testing.T, g *gatewaytest.Gateway, line string) bool {
	t.Helper()
	resp, err := http.Get(g.MetricsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.Contains(string(b), line)
}

// TestE2E_CaseVariantKeysAreRefused: the published bypasses ("Stream",
// "Messages", "ſtream", a repeated "messages") get 400 naming the
// parameter; the upstream never sees them and nothing is billed.
func TestE2E_CaseVariantKeysAreRefused(t *testing.T) {
	big := strings.Repeat("word ", 20000)
	cases := []struct{ param, body string }{
		{"Stream", `{"model":"llama3.2:3b","max_tokens":4000,"Stream":true,"messages":[{"role":"user","content":"x"}]}`},
		{"Messages", `{"model":"llama3.2:3b","messages":[{"role":"user","content":"x"}],"Messages":[{"role":"user","content":"` + big + `"}]}`},
		{"ſtream", `{"model":"llama3.2:3b","messages":[{"role":"user","content":"x"}],"\u017ftream":true}`},
		{"STREAM", `{"model":"llama3.2:3b","messages":[{"role":"user","content":"x"}],"STREAM":true}`},
		{"Max_tokens", `{"model":"llama3.2:3b","messages":[{"role":"user","content":"x"}],"Max_tokens":4000}`},
		{"messages", `{"model":"llama3.2:3b","messages":[{"role":"user","content":"` + big + `"}],"messages":[{"role":"user"}]}`},
		{"Tools", `{"model":"llama3.2:3b","messages":[{"role":"user","content":"x"}],"Tools":[]}`},
	}
	eachMode(t, 2, func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User) {
		for _, c := range cases {
			a := postBody(t, g, u.Key, c.body)
			typ, _, param, msg := errorOf(t, a)
			if a.status != 400 || typ != "invalid_request_error" || param != c.param || !strings.Contains(msg, c.param) {
				t.Errorf("%s: %d %s %q %q", c.param, a.status, typ, param, msg)
			}
			if a.header.Get("x-request-id") == "" {
				t.Errorf("%s: no x-request-id", c.param)
			}
		}
		if n := g.Ollama.Stats().Requests; n != 0 {
			t.Fatalf("the upstream saw %d refused requests", n)
		}
		if b := g.Balance(t, u.Account); b.Total != 2 || b.Held != 0 {
			t.Fatalf("balance %+v after refusals", b)
		}
	})
}

// TestE2E_HoldCountsToolsAndImagesByAllowance: a large tools array is held
// for (402 on a small balance, where the same request without it passes);
// a 1 MiB image is held at its allowance, not its bytes. Every served
// request is charged exactly the upstream's usage.
func TestE2E_HoldCountsToolsAndImagesByAllowance(t *testing.T) {
	tools := `[{"type":"function","function":{"name":"lookup","description":"` + strings.Repeat("describe ", 5000) + `","parameters":{"type":"object"}}}]`
	image := `{"type":"image_url","image_url":{"url":"data:image/png;base64,` + strings.Repeat("iVBORw0K", 1<<17) + `"}}`
	eachMode(t, 5, func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User) {
		withTools := `{"model":"llama3.2:3b","max_tokens":16,"messages":[{"role":"user","content":"hello fake world"}],"tools":` + tools + `}`
		if a := postBody(t, g, u.Key, withTools); a.status != 402 {
			t.Fatalf("45 kB of tools on 5 credits: %s, want 402", a)
		}
		total := resayil.Credits(5)
		for _, body := range []string{
			`{"model":"llama3.2:3b","max_tokens":16,"messages":[{"role":"user","content":"hello fake world"}]}`,
			`{"model":"llama3.2:3b","max_tokens":16,"messages":[{"role":"user","content":[{"type":"text","text":"hello fake world"},` + image + `]}]}`,
		} {
			a := postBody(t, g, u.Key, body)
			if a.status != 200 {
				t.Fatalf("%.200s: %s", body, a)
			}
			want := catalog.Cost(usageOf(t, a), 1, 1)
			if got := charged(t, a); got != want {
				t.Fatalf("charged %d, the upstream's usage costs %d", got, want)
			}
			total -= want
		}
		g.Fund(t, u.Account, 100)
		total += 100
		a := postBody(t, g, u.Key, withTools)
		if a.status != 200 {
			t.Fatalf("tools on a funded account: %s", a)
		}
		if !strings.Contains(string(g.Ollama.LastRequestBody()), `"tools":[{"type":"function"`) {
			t.Fatal("the tools did not reach the upstream")
		}
		want := catalog.Cost(usageOf(t, a), 1, 1)
		if got := charged(t, a); got != want {
			t.Fatalf("charged %d, the upstream's usage costs %d", got, want)
		}
		total -= want
		if b := g.Balance(t, u.Account); b.Total != total || b.Held != 0 {
			t.Fatalf("balance %+v, want %d", b, total)
		}
	})
}

// TestE2E_WrongShapeIs502BilledAtTheHold: an upstream that streams to a
// non-streaming request, or answers a stream request with one JSON
// document, gets the client a 502 in OpenAI's shape — never the
// mismatched bytes — billed at the hold, counted and recorded.
func TestE2E_WrongShapeIs502BilledAtTheHold(t *testing.T) {
	eachMode(t, 100, func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User) {
		// Hold: ceil((prompt estimate + 3000) / 1000) = 4 credits; the
		// fake's real usage would cost 1.
		const hold = 4
		balance := resayil.Credits(100)
		for _, stream := range []bool{false, true} {
			g.Ollama.AnswerInOtherShape(1)
			a := postBody(t, g, u.Key, fmt.Sprintf(`{"model":"llama3.2:3b","max_tokens":3000,"stream":%v,"messages":[{"role":"user","content":"hello fake world"}]}`, stream))
			typ, code, _, _ := errorOf(t, a)
			if a.status != 502 || typ != "server_error" || code != "bad_upstream_response" ||
				!strings.HasPrefix(a.header.Get("Content-Type"), "application/json") || strings.Contains(string(a.body), "data:") {
				t.Fatalf("stream=%v: %s %v", stream, a, a.header)
			}
			if got := charged(t, a); got != hold {
				t.Fatalf("stream=%v: charged %d, want the hold %d", stream, got, hold)
			}
			balance -= hold
			if b := g.Balance(t, u.Account); b.Total != balance || b.Held != 0 {
				t.Fatalf("stream=%v: balance %+v, want %d", stream, b, balance)
			}
		}
		if n := g.WaitUsage(t, u.Account, 2); n != 2 {
			t.Fatalf("%d usage records", n)
		}
		var n int
		if err := g.DB.SQL.QueryRow(`SELECT COUNT(*) FROM usage_records WHERE account_id = ? AND status = 'upstream_wrong_shape' AND credits = ?`, u.Account, hold).Scan(&n); err != nil || n != 2 {
			t.Fatalf("usage records in the wrong shape: %d %v", n, err)
		}
		if !metric(t, g, `resayil_gateway_upstream_anomalies_total{backend="local",kind="wrong_shape",model="llama3.2:3b"} 2`) {
			t.Fatal("wrong shapes not counted in the metric")
		}
	})
}

// TestE2E_AnswerWithoutUsageIsBilledFromWhatWasRelayed: a completed answer
// without usage is billed from the gateway's count of the prompt and of
// what it relayed — at least what the upstream really generated — never
// from the prompt estimate alone.
func TestE2E_AnswerWithoutUsageIsBilledFromWhatWasRelayed(t *testing.T) {
	eachMode(t, 1000, func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User) {
		g.Ollama.SetTokens(3000)
		// The fake's own count: 4 prompt + 3000 completion tokens,
		// 4 credits. The prompt estimate alone would be 1.
		real := catalog.Cost(3004, 1, 1)
		balance := resayil.Credits(1000)
		g.Ollama.OmitUsage(1)
		a := postBody(t, g, u.Key, `{"model":"llama3.2:3b","messages":[{"role":"user","content":"hello fake world"}]}`)
		if a.status != 200 || strings.Contains(string(a.body), `"usage"`) {
			t.Fatalf("%.300s", a)
		}
		got := charged(t, a)
		if got < real {
			t.Fatalf("non-streaming: charged %d, below the %d the answer really cost", got, real)
		}
		balance -= got
		g.Ollama.OmitUsage(1)
		a = postBody(t, g, u.Key, `{"model":"llama3.2:3b","stream":true,"messages":[{"role":"user","content":"hello fake world"}]}`)
		if a.status != 200 || !strings.HasSuffix(string(a.body), "data: [DONE]\n\n") {
			t.Fatalf("stream: %.300s", a)
		}
		if n := g.WaitUsage(t, u.Account, 2); n != 2 {
			t.Fatalf("%d usage records", n)
		}
		var credits, completion int64
		if err := g.DB.SQL.QueryRow(`SELECT credits, completion_tokens FROM usage_records WHERE account_id = ? ORDER BY id DESC LIMIT 1`, u.Account).Scan(&credits, &completion); err != nil {
			t.Fatal(err)
		}
		if completion != 3000 || resayil.Credits(credits) < real {
			t.Fatalf("stream: %d completion tokens, %d credits; want 3000 and at least %d", completion, credits, real)
		}
		balance -= resayil.Credits(credits)
		if b := waitBalance(t, g, u.Account, balance); b.Total != balance {
			t.Fatalf("balance %+v, want %d", b, balance)
		}
		if !metric(t, g, `resayil_gateway_upstream_anomalies_total{backend="local",kind="no_usage",model="llama3.2:3b"} 2`) {
			t.Fatal("answers without usage not counted in the metric")
		}
	})
}

// TestE2E_UpstreamErrorNamesNoBackendOrRestrictedModel: an upstream 400 is
// passed through with the backend's model name replaced by the public id,
// and replaced whole when it names a restricted model.
func TestE2E_UpstreamErrorNamesNoBackendOrRestrictedModel(t *testing.T) {
	models := filepath.Join(t.TempDir(), "models.yaml")
	if err := os.WriteFile(models, []byte("models:\n  - id: public-small\n    class: small\n    local: secret-backend:1b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			o := m.opts
			o.Ollama = fakeollama.New(fakeollama.WithModels("secret-backend:1b"))
			t.Cleanup(o.Ollama.Close)
			o.Env = append(append([]string(nil), o.Env...), "RESAYIL_MODELS_FILE="+models)
			g := gatewaytest.Start(t, o)
			u := gatewaytest.NewUser(t, g.DB, "", time.Time{})
			g.Fund(t, u.Account, 10)
			body := `{"model":"public-small","messages":[{"role":"user","content":"hi"}]}`
			g.Ollama.FailNextWith(1, 400, `model "secret-backend:1b" does not support option "mirostat"`)
			a := postBody(t, g, u.Key, body)
			_, _, _, msg := errorOf(t, a)
			if a.status != 400 || strings.Contains(string(a.body), "secret-backend") || !strings.Contains(msg, `model "public-small" does not support`) {
				t.Fatalf("backend name: %s", a)
			}
			g.Ollama.FailNextWith(1, 400, `template error: falling back to GLM-4.7-Flash`)
			a = postBody(t, g, u.Key, body)
			_, _, _, msg = errorOf(t, a)
			if a.status != 400 || strings.Contains(strings.ToLower(string(a.body)), "glm-4.7-flash") || msg == "" {
				t.Fatalf("restricted name: %s", a)
			}
			if b := g.Balance(t, u.Account); b.Total != 10 || b.Held != 0 {
				t.Fatalf("a refused request was billed: %+v", b)
			}
		})
	}
}
