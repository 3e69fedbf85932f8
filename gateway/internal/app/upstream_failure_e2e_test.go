package app_test

// The gateway's answer to each way an upstream fails before the first byte,
// through the real gateway in both modes: nothing is billed, the hold goes
// back, and the client gets OpenAI's shape with a code it can act on.

import (
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/gatewaytest"
	"github.com/resayil/portal/pkg/fake/fakeollama"
)

func TestE2E_UpstreamFailuresBeforeTheFirstByte(t *testing.T) {
	const body = `{"model":"llama3.2:3b","max_tokens":16,"messages":[{"role":"user","content":"hello fake world"}]}`
	cases := []struct {
		name   string
		inject func(o *fakeollama.Server)
		status int
		typ    string
		code   string
		msg    string
	}{
		{"400 passed through", func(o *fakeollama.Server) { o.FailNextWith(1, 400, "invalid option: mirostat_tau") },
			400, "invalid_request_error", "", "invalid option: mirostat_tau"},
		{"404 is model_unavailable", func(o *fakeollama.Server) { o.FailNext(1, 404) },
			503, "server_error", "model_unavailable", ""},
		{"503 is server_busy", func(o *fakeollama.Server) { o.FailNext(1, 503) },
			503, "server_error", "server_busy", ""},
		{"500 is bad_gateway", func(o *fakeollama.Server) { o.FailNext(1, 500) },
			502, "server_error", "bad_gateway", ""},
		{"slow first byte is 504", func(o *fakeollama.Server) { o.SetLatency(2 * time.Second) },
			504, "server_error", "upstream_timeout", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			eachModeWith(t, 50, []string{"RESAYIL_UPSTREAM_FIRST_BYTE_TIMEOUT=300ms"}, func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User) {
				c.inject(g.Ollama)
				a := postBody(t, g, u.Key, body)
				typ, code, _, msg := errorOf(t, a)
				if a.status != c.status || typ != c.typ || code != c.code || (c.msg != "" && msg != c.msg) {
					t.Fatalf("%d %s %q %q, want %d %s %q %q", a.status, typ, code, msg, c.status, c.typ, c.code, c.msg)
				}
				if b := g.Balance(t, u.Account); b.Total != 50 || b.Held != 0 {
					t.Fatalf("balance %+v: a failure before the first byte is not billed", b)
				}
				if n := gatewaytest.UsageCount(t, g.DB, u.Account); n != 0 {
					t.Fatalf("%d usage records", n)
				}
			})
		})
	}
}

// TestE2E_UpstreamNotReachedIs502Unavailable: nothing listens at the only
// host, so nothing was sent: 502 upstream_unavailable (or 503 once the
// health probe has taken the host out), never billed.
func TestE2E_UpstreamNotReachedIs502Unavailable(t *testing.T) {
	dead := refusedURL(t)
	eachModeWith(t, 50, []string{"RESAYIL_OLLAMA_URL=" + dead, "RESAYIL_UPSTREAM_HEALTH_INTERVAL=1h"}, func(t *testing.T, g *gatewaytest.Gateway, u gatewaytest.User) {
		a := postBody(t, g, u.Key, `{"model":"llama3.2:3b","messages":[{"role":"user","content":"hi"}]}`)
		typ, code, _, _ := errorOf(t, a)
		if !(a.status == 502 && code == "upstream_unavailable" || a.status == 503 && code == "model_unavailable") || typ != "server_error" {
			t.Fatalf("%s", a)
		}
		if b := g.Balance(t, u.Account); b.Total != 50 || b.Held != 0 {
			t.Fatalf("balance %+v", b)
		}
	})
}
