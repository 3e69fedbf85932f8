package fakeollama_test

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakeollama"
)

func TestRootVersionTags(t *testing.T) {
	s := start(t, fakeollama.WithModels("llama3.2:3b", "nomic-embed-text"), fakeollama.WithVersion("0.9.9"))

	resp, body := do(t, http.MethodGet, s.URL()+"/", "")
	wantStatus(t, resp, body, http.StatusOK)
	if string(body) != "Ollama is running" {
		t.Errorf("GET / = %q", body)
	}

	resp, body = do(t, http.MethodGet, s.URL()+"/api/version", "")
	wantStatus(t, resp, body, http.StatusOK)
	wantJSON(t, body, `{"version":"0.9.9"}`)
	resp, body = do(t, http.MethodHead, s.URL()+"/api/version", "")
	wantStatus(t, resp, body, http.StatusOK)
	if len(body) != 0 {
		t.Errorf("HEAD body = %q", body)
	}

	resp, body = do(t, http.MethodGet, s.URL()+"/api/tags", "")
	wantStatus(t, resp, body, http.StatusOK)
	ms := s.Models()
	wantJSON(t, body, fmt.Sprintf(`{"models":[`+
		`{"name":"llama3.2:3b","model":"llama3.2:3b","modified_at":%q,"size":%d,"digest":%q,"details":{"parent_model":"","format":"gguf","family":"llama","families":["llama"],"parameter_size":"3B","quantization_level":"Q4_K_M"}},`+
		`{"name":"nomic-embed-text:latest","model":"nomic-embed-text:latest","modified_at":%q,"size":%d,"digest":%q,"details":{"parent_model":"","format":"gguf","family":"bert","families":["bert"],"parameter_size":"567.00M","quantization_level":"F16"}}]}`,
		ms[0].ModifiedAt.Format(time.RFC3339Nano), ms[0].Size, ms[0].Digest,
		ms[1].ModifiedAt.Format(time.RFC3339Nano), ms[1].Size, ms[1].Digest))
	if len(ms[0].Digest) != 64 || ms[0].Size <= 0 || !ms[0].ModifiedAt.After(ms[1].ModifiedAt) {
		t.Errorf("models = %+v", ms)
	}
	resp, body = do(t, http.MethodHead, s.URL()+"/api/tags", "")
	wantStatus(t, resp, body, http.StatusOK)

	s.SetModels()
	_, body = do(t, http.MethodGet, s.URL()+"/api/tags", "")
	wantJSON(t, body, `{"models":[]}`)
}

func TestNativeChat_StreamIsNDJSON(t *testing.T) {
	s := start(t, fakeollama.WithTokens(3))
	resp, body := post(t, s.URL()+"/api/chat", hello+`}`) // streaming is the default
	wantStatus(t, resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type = %q", ct)
	}
	if !bytes.HasSuffix(body, []byte("}\n")) || bytes.Contains(body, []byte("data:")) {
		t.Fatalf("not NDJSON: %q", body)
	}
	lines := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines: %q", len(lines), lines)
	}
	for i, l := range lines[:3] {
		m := object(t, []byte(l))
		wantKeys(t, "line", m, "model", "created_at", "message", "done")
		created, err := time.Parse(time.RFC3339Nano, m["created_at"].(string))
		if err != nil || created.IsZero() {
			t.Errorf("created_at = %v", m["created_at"])
		}
		wantJSON(t, []byte(l), fmt.Sprintf(`{"model":"llama3.2:3b","created_at":%q,"message":{"role":"assistant","content":%q},"done":false}`,
			m["created_at"], []string{"hello", " fake", " world"}[i]))
	}
	last := object(t, []byte(lines[3]))
	wantKeys(t, "final line", last, "model", "created_at", "message", "done", "done_reason",
		"total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration")
	if last["done"] != true || last["done_reason"] != "stop" || last["prompt_eval_count"] != 4.0 || last["eval_count"] != 3.0 {
		t.Errorf("final line = %v", last)
	}
	if msg := last["message"].(map[string]any); msg["role"] != "assistant" || msg["content"] != "" {
		t.Errorf("final message = %v", msg)
	}
	// Durations are nanoseconds: 1ms load, 100µs per prompt token, 1ms per token.
	if last["load_duration"] != 1e6 || last["prompt_eval_duration"] != 4e5 || last["eval_duration"] != 3e6 {
		t.Errorf("durations = %v", last)
	}
	if total := last["total_duration"].(float64); total < 1e6+4e5+3e6 {
		t.Errorf("total_duration = %v, below the sum of its parts", total)
	}
}

func TestNativeChat_NoStream(t *testing.T) {
	s := start(t)
	resp, body := post(t, s.URL()+"/api/chat", hello+`,"stream":false,"options":{"num_predict":5}}`)
	wantStatus(t, resp, body, http.StatusOK)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if n := bytes.Count(bytes.TrimSpace(body), []byte("\n")); n != 0 {
		t.Fatalf("more than one object: %s", body)
	}
	m := object(t, body)
	if m["done"] != true || m["done_reason"] != "length" || m["eval_count"] != 5.0 || m["prompt_eval_count"] != 4.0 {
		t.Errorf("response = %v", m)
	}
	if got := m["message"].(map[string]any)["content"]; got != fakeollama.ReplyText(helloMessages, 5) {
		t.Errorf("content = %q", got)
	}
}

func TestNativeChat_Errors(t *testing.T) {
	s := start(t)
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"unknown model", `{"model":"x","messages":[{"role":"user","content":"hi"}]}`, 404,
			`{"error":"model \"x\" not found, try pulling it first"}`},
		{"embedding model", `{"model":"nomic-embed-text","messages":[{"role":"user","content":"hi"}]}`, 400,
			`{"error":"\"nomic-embed-text\" does not support chat"}`},
		{"no model", `{"messages":[]}`, 400, `{"error":"model is required"}`},
		{"no body", ``, 400, `{"error":"missing request body"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, s.URL()+"/api/chat", tt.body)
			wantStatus(t, resp, body, tt.status)
			wantJSON(t, body, tt.want)
			if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
		})
	}
}

// NewHandler serves on a listener of the caller's choosing (the dev program's way).
func TestNewHandler(t *testing.T) {
	fake := fakeollama.NewHandler(fakeollama.WithModels("qwen2.5:7b"), fakeollama.WithTokens(1))
	defer fake.Close()
	if fake.URL() != "" {
		t.Errorf("URL = %q for an unstarted handler", fake.URL())
	}
	ts := httptest.NewServer(fake.Handler())
	defer ts.Close()
	resp, err := http.Post(ts.URL+"/api/chat", "application/json", strings.NewReader(`{"model":"qwen2.5:7b","messages":[{"role":"user","content":"one two"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var n int
	for sc.Scan() {
		n++
	}
	if n != 2 || fake.Stats().Completed != 1 {
		t.Errorf("%d lines, stats %+v", n, fake.Stats())
	}
}
