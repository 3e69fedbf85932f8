package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// local-models prints what make run starts the fake Ollama with: the
// catalog's local names, restricted ones left out, no cloud-only model.
func TestLocalModels(t *testing.T) {
	shipped := filepath.Join("..", "..", "..", "config", "models.yaml")
	custom := filepath.Join(t.TempDir(), "models.yaml")
	if err := os.WriteFile(custom, []byte(`models:
  - id: a
    class: small
    local: shared:1b
  - id: b
    class: medium
    local: shared:1b
  - id: c
    class: cloud
    cloud: big:1t
  - id: d
    class: large
    local: other:70b
`), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"shipped catalog", []string{"RESAYIL_MODELS_FILE=" + shipped}, "llama3.2:3b,qwen2.5:7b,llama3.1:70b,qwen3:235b"},
		{"restricted left out", []string{"RESAYIL_MODELS_FILE=" + shipped, "RESAYIL_RESTRICTED_MODELS=qwen3:235b,glm-4.7-flash"}, "llama3.2:3b,qwen2.5:7b,llama3.1:70b"},
		{"each name once, no cloud-only", []string{"RESAYIL_MODELS_FILE=" + custom}, "shared:1b,other:70b"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errs bytes.Buffer
			if err := run(context.Background(), []string{"local-models"}, c.env, &out, &errs); err != nil {
				t.Fatalf("%v\n%s", err, errs.String())
			}
			if got := strings.TrimSpace(out.String()); got != c.want || strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("got %q, want %q on one line", out.String(), c.want)
			}
		})
	}
	var out, errs bytes.Buffer
	if err := run(context.Background(), []string{"local-models"}, []string{"RESAYIL_MODELS_FILE=" + filepath.Join(t.TempDir(), "none.yaml")}, &out, &errs); err == nil {
		t.Fatal("a missing catalog must fail")
	}
}
