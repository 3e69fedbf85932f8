package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/testenv"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var logs testenv.Buffer
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-addr", "127.0.0.1:0", "-models", "tiny:1b, other", "-chunk-delay", "0", "-tokens", "2"}, &logs, ready)
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}

	resp, err := http.Get("http://" + addr + "/api/tags")
	if err != nil {
		t.Fatal(err)
	}
	tags, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(tags), `"name":"tiny:1b"`) || !strings.Contains(string(tags), `"name":"other:latest"`) {
		t.Errorf("/api/tags = %s", tags)
	}
	resp, err = http.Post("http://"+addr+"/api/chat", "application/json", strings.NewReader(`{"model":"tiny:1b","stream":false,"messages":[{"role":"user","content":"a b c"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"content":"a b"`) || !strings.Contains(string(body), `"eval_count":2`) {
		t.Errorf("/api/chat = %s", body)
	}
	if !strings.Contains(logs.String(), "FAKE Ollama") {
		t.Errorf("no FAKE warning in the log: %s", logs.String())
	}

	cancel()
	if err := <-errc; err != nil {
		t.Errorf("run after shutdown: %v", err)
	}
}

func TestRun_BadFlag(t *testing.T) {
	if err := run(t.Context(), []string{"-nope"}, io.Discard, nil); err == nil {
		t.Error("an unknown flag was accepted")
	}
}
