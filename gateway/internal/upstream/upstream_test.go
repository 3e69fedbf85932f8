package upstream_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/fake/fakecloud"
	"github.com/resayil/portal/pkg/fake/fakeollama"
)

var fast = upstream.Timeouts{Connect: time.Second, FirstByte: 2 * time.Second, Idle: time.Second}

const body = `{"model":"llama3.2:3b","messages":[{"role":"user","content":"hello fake world"}]}`

func uerr(t *testing.T, err error) *upstream.Error {
	t.Helper()
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		t.Fatalf("want *upstream.Error, got %v", err)
	}
	return ue
}

func TestChatCompletions_OK(t *testing.T) {
	o := fakeollama.New()
	defer o.Close()
	b := upstream.New(upstream.Local, o.URL(), "", fast)
	resp, err := b.ChatCompletions(context.Background(), []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"usage"`) {
		t.Fatalf("answer %s", raw)
	}
}

func TestChatCompletions_ErrorsAreClassified(t *testing.T) {
	o := fakeollama.New()
	defer o.Close()
	b := upstream.New(upstream.Local, o.URL(), "", fast)

	o.FailNext(1, 503)
	ue := uerr(t, failure(b.ChatCompletions(context.Background(), []byte(body))))
	if ue.Status != 503 || !ue.Retryable() || !strings.Contains(ue.Message, "server busy") {
		t.Fatalf("503: %+v", ue)
	}
	ue = uerr(t, failure(b.ChatCompletions(context.Background(), []byte(`{"model":"nope","messages":[{"role":"user","content":"x"}]}`))))
	if ue.Status != 404 || ue.Retryable() || !strings.Contains(ue.Message, "not found") {
		t.Fatalf("404: %+v", ue)
	}

	// A closed port: the request cannot have reached the upstream.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	ue = uerr(t, failure(upstream.New(upstream.Local, "http://"+addr, "", fast).ChatCompletions(context.Background(), []byte(body))))
	if !ue.NotSent || !ue.Retryable() {
		t.Fatalf("refused: %+v", ue)
	}

	// No first byte within the first-byte timeout (a model load that hangs).
	o.SetLatency(3 * time.Second)
	ue = uerr(t, failure(b.ChatCompletions(context.Background(), []byte(body))))
	if !ue.Timeout || !ue.Retryable() {
		t.Fatalf("timeout: %+v", ue)
	}
}

func TestChatCompletions_CloudSendsItsKey(t *testing.T) {
	c := fakecloud.New()
	defer c.Close()
	cloudBody := `{"model":"gpt-oss:20b","messages":[{"role":"user","content":"hi"}]}`
	if _, err := upstream.New(upstream.Cloud, c.URL(), fakecloud.DefaultAPIKey, fast).ChatCompletions(context.Background(), []byte(cloudBody)); err != nil {
		t.Fatal(err)
	}
	ue := uerr(t, failure(upstream.New(upstream.Cloud, c.URL(), "wrong", fast).ChatCompletions(context.Background(), []byte(cloudBody))))
	if ue.Status != 401 {
		t.Fatalf("wrong key: %+v", ue)
	}
	if upstream.Cloud.Multiplier() != 2 || upstream.Local.Multiplier() != 1 {
		t.Fatal("multipliers: local 1, cloud 2")
	}
}

// failure drops the response of a call expected to fail.
func failure(resp any, err error) error {
	if err == nil {
		return errors.New("the call succeeded")
	}
	return err
}
