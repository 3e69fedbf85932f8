package fakeollama_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/fake/fakeollama"
)

// hello is the request most tests send: 16 bytes of text, so 4 prompt tokens.
const hello = `{"model":"llama3.2:3b","messages":[{"role":"user","content":"hello fake world"}]`

var helloMessages = []fakeollama.Message{{Role: "user", Content: "hello fake world"}}

func start(t *testing.T, opts ...fakeollama.Option) *fakeollama.Server {
	t.Helper()
	s := fakeollama.New(opts...)
	t.Cleanup(s.Close)
	return s
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// do sends a request and returns the response with its whole body read.
func do(t *testing.T, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	return resp, b
}

func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	return do(t, http.MethodPost, url, body)
}

func object(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, b)
	}
	return m
}

func keys(m any) []string {
	obj, _ := m.(map[string]any)
	var ks []string
	for k := range obj {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func wantKeys(t *testing.T, what string, m any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := keys(m); !slices.Equal(got, want) {
		t.Errorf("%s keys = %v, want %v", what, got, want)
	}
}

func wantStatus(t *testing.T, resp *http.Response, body []byte, want int) {
	t.Helper()
	if resp.StatusCode != want {
		t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, want, body)
	}
}

// wantJSON compares a body with the expected JSON, ignoring formatting.
func wantJSON(t *testing.T, body []byte, want string) {
	t.Helper()
	var got, exp bytes.Buffer
	if err := json.Compact(&got, body); err != nil {
		t.Fatalf("body is not JSON: %v: %s", err, body)
	}
	if err := json.Compact(&exp, []byte(want)); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if got.String() != exp.String() {
		t.Errorf("body\n got %s\nwant %s", got.String(), exp.String())
	}
}
