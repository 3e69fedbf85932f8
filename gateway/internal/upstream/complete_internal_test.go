package upstream

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A cloud backend on HTTPS: the dial does the TLS handshake (bounded by
// the connect timeout) and fasthttp sends the call over it.
func TestComplete_TLS(t *testing.T) {
	var gotAuth, gotBody string
	var sawTLS bool
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		gotAuth, gotBody, sawTLS = r.Header.Get("Authorization"), string(raw), r.TLS != nil
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"chat.completion","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`)
	}))
	defer srv.Close()
	testRoots = srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	defer func() { testRoots = nil }()

	b := New(Cloud, srv.URL, "cloud-key", Timeouts{Connect: time.Second, FirstByte: 2 * time.Second, Idle: time.Second})
	raw, err := b.Complete(context.Background(), []byte(`{"model":"m","messages":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"total_tokens":3`) || !sawTLS || gotAuth != "Bearer cloud-key" || gotBody != `{"model":"m","messages":[]}` {
		t.Fatalf("answer %s; server saw TLS %v, Authorization %q, body %q", raw, sawTLS, gotAuth, gotBody)
	}

	// A certificate nobody vouches for fails the call; nothing was sent.
	testRoots = nil
	untrusted := New(Cloud, srv.URL, "cloud-key", Timeouts{Connect: time.Second, FirstByte: 2 * time.Second, Idle: time.Second})
	gotBody = ""
	if _, err := untrusted.Complete(context.Background(), []byte(`{"model":"m","messages":[]}`)); err == nil || gotBody != "" {
		t.Fatalf("an untrusted certificate: err %v, server saw %q", err, gotBody)
	}
}
