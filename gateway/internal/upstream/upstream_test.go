package upstream_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/fake/fakecloud"
	"github.com/resayil/portal/pkg/fake/fakeollama"
)

var fast = upstream.Timeouts{Connect: time.Second, FirstByte: 2 * time.Second, Idle: time.Second}

const (
	body       = `{"model":"llama3.2:3b","messages":[{"role":"user","content":"hello fake world"}]}`
	streamBody = `{"model":"llama3.2:3b","stream":true,"messages":[{"role":"user","content":"hello fake world"}]}`
)

func uerr(t *testing.T, err error) *upstream.Error {
	t.Helper()
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		t.Fatalf("want *upstream.Error, got %v", err)
	}
	return ue
}

// calls are the two ways of calling a backend; both classify failures the
// same way.
var calls = map[string]func(b *upstream.Backend, body string) error{
	"stream": func(b *upstream.Backend, body string) error {
		resp, err := b.Stream(context.Background(), []byte(strings.Replace(body, `"messages"`, `"stream":true,"messages"`, 1)))
		if err == nil {
			resp.Body.Close()
		}
		return err
	},
	"complete": func(b *upstream.Backend, body string) error {
		_, err := b.Complete(context.Background(), []byte(body))
		return err
	},
}

func TestStream_OK(t *testing.T) {
	o := fakeollama.New()
	defer o.Close()
	b := upstream.New(upstream.Local, o.URL(), "", fast)
	resp, err := b.Stream(context.Background(), []byte(streamBody))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(raw), "data: ") || !strings.Contains(string(raw), "data: [DONE]") {
		t.Fatalf("answer %s", raw)
	}
}

func TestComplete_OK(t *testing.T) {
	o := fakeollama.New()
	defer o.Close()
	b := upstream.New(upstream.Local, o.URL(), "", fast)
	for i := range 3 { // the later calls reuse the kept-alive connection
		raw, err := b.Complete(context.Background(), []byte(body))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if !strings.Contains(string(raw), `"usage"`) || !strings.Contains(string(raw), `"chat.completion"`) {
			t.Fatalf("answer %s", raw)
		}
	}
	got := o.LastRequest()
	if got.Header.Get("Content-Type") != "application/json" || got.Header.Get("Authorization") != "" {
		t.Fatalf("headers %v", got.Header)
	}
	if string(got.Body) != body {
		t.Fatalf("body %s", got.Body)
	}
	if s := o.Stats(); s.Requests != 3 || s.Completed != 3 {
		t.Fatalf("stats %+v", s)
	}
}

func TestCalls_ErrorsAreClassified(t *testing.T) {
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			o := fakeollama.New()
			defer o.Close()
			b := upstream.New(upstream.Local, o.URL(), "", fast)

			o.FailNext(1, 503)
			ue := uerr(t, call(b, body))
			if ue.Status != 503 || !ue.Retryable() || !strings.Contains(ue.Message, "server busy") {
				t.Fatalf("503: %+v", ue)
			}
			ue = uerr(t, call(b, `{"model":"nope","messages":[{"role":"user","content":"x"}]}`))
			if ue.Status != 404 || ue.Retryable() || !strings.Contains(ue.Message, "not found") {
				t.Fatalf("404: %+v", ue)
			}

			// A closed port: the request cannot have reached the upstream.
			ln, _ := net.Listen("tcp", "127.0.0.1:0")
			addr := ln.Addr().String()
			ln.Close()
			ue = uerr(t, call(upstream.New(upstream.Local, "http://"+addr, "", fast), body))
			if !ue.NotSent || !ue.Retryable() {
				t.Fatalf("refused: %+v", ue)
			}

			// No first byte within the first-byte timeout (a model load
			// that hangs).
			o.SetLatency(3 * time.Second)
			start := time.Now()
			ue = uerr(t, call(b, body))
			if !ue.Timeout || !ue.Retryable() || ue.NotSent {
				t.Fatalf("timeout: %+v", ue)
			}
			if d := time.Since(start); d < fast.FirstByte || d > fast.FirstByte+time.Second {
				t.Fatalf("timed out after %v, want the first-byte timeout %v", d, fast.FirstByte)
			}
			o.SetLatency(0)

			// The upstream closes the connection without answering (a
			// non-streaming call retries once on a fresh connection).
			o.DropNext(map[string]int{"stream": 1, "complete": 2}[name])
			ue = uerr(t, call(b, body))
			if !ue.Retryable() || ue.NotSent || ue.Status != 0 {
				t.Fatalf("dropped: %+v", ue)
			}
			if err := call(b, body); err != nil {
				t.Fatalf("after the drops: %v", err)
			}
		})
	}
}

func TestCalls_CloudSendsItsKey(t *testing.T) {
	c := fakecloud.New()
	defer c.Close()
	cloudBody := `{"model":"gpt-oss:20b","messages":[{"role":"user","content":"hi"}]}`
	for name, call := range calls {
		if err := call(upstream.New(upstream.Cloud, c.URL(), fakecloud.DefaultAPIKey, fast), cloudBody); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := c.LastRequest().Header.Get("Authorization"); got != "Bearer "+fakecloud.DefaultAPIKey {
			t.Fatalf("%s: Authorization %q", name, got)
		}
		ue := uerr(t, call(upstream.New(upstream.Cloud, c.URL(), "wrong", fast), cloudBody))
		if ue.Status != 401 {
			t.Fatalf("%s: wrong key: %+v", name, ue)
		}
	}
	if upstream.Cloud.Multiplier() != 2 || upstream.Local.Multiplier() != 1 {
		t.Fatal("multipliers: local 1, cloud 2")
	}
}

// Abort ends a non-streaming call in flight at once (the gateway's
// shutdown past its grace) and fails later calls without sending them.
func TestComplete_Abort(t *testing.T) {
	o := fakeollama.New()
	defer o.Close()
	b := upstream.New(upstream.Local, o.URL(), "", upstream.Timeouts{Connect: time.Second, FirstByte: time.Minute, Idle: time.Second})
	o.Pause()
	errc := make(chan error, 1)
	go func() {
		_, err := b.Complete(context.Background(), []byte(body))
		errc <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := o.WaitInFlight(ctx, 1); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	select {
	case err := <-errc:
		uerr(t, err)
	case <-ctx.Done():
		t.Fatal("Abort did not end the call in flight")
	}
	o.Resume()
	if ue := uerr(t, calls["complete"](b, body)); !ue.NotSent {
		t.Fatalf("after Abort: %+v", ue)
	}
	if n := o.Stats().Requests; n != 1 {
		t.Fatalf("the upstream saw %d requests, want 1", n)
	}
}

// A kept-alive connection the server closed while it sat in the pool (an
// upstream restart) is replaced without failing the call.
func TestComplete_StaleKeepAlive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	served := make(chan struct{}, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				// One answer, kept alive as far as the client can tell,
				// then the connection is closed.
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					c.Close()
					return
				}
				_, _ = io.Copy(io.Discard, req.Body)
				const answer = `{"object":"chat.completion","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}`
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
					strconv.Itoa(len(answer))+"\r\n\r\n"+answer)
				c.Close()
				served <- struct{}{}
			}()
		}
	}()
	b := upstream.New(upstream.Local, "http://"+ln.Addr().String(), "", fast)
	if _, err := b.Complete(context.Background(), []byte(body)); err != nil {
		t.Fatal(err)
	}
	<-served
	if _, err := b.Complete(context.Background(), []byte(body)); err != nil {
		t.Fatalf("on a connection the server had closed: %v", err)
	}
	if n := accepted.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// Zero timeouts take the defaults: a non-streaming call with a zero
// first-byte timeout would otherwise fail at once.
func TestNew_ZeroTimeoutsTakeTheDefaults(t *testing.T) {
	o := fakeollama.New()
	defer o.Close()
	b := upstream.New(upstream.Local, o.URL(), "", upstream.Timeouts{})
	if b.Timeouts != upstream.DefaultTimeouts {
		t.Fatalf("timeouts %+v, want %+v", b.Timeouts, upstream.DefaultTimeouts)
	}
	if _, err := b.Complete(context.Background(), []byte(body)); err != nil {
		t.Fatal(err)
	}
}
