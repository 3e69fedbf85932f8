package archtest_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/resayil/portal/pkg/archtest"
)

// writeModule lays out a throwaway module (outside the workspace) from a map
// of file names to contents.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goMod = "module example.com/m\n\ngo 1.22\n"

// TestLoad_ThisPackage loads the real graph of this folder: archtest itself is
// the one root, and it depends on the standard library alone, so every
// module of the workspace can import it.
func TestLoad_ThisPackage(t *testing.T) {
	g, err := archtest.Load(".")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	self := archtest.Module + "/pkg/archtest"
	var roots []string
	for path, p := range g.Packages {
		if p.Root {
			roots = append(roots, path)
		}
		if path != self && !p.Standard {
			t.Errorf("archtest depends on %s, which is not in the standard library", path)
		}
	}
	if len(roots) != 1 || roots[0] != self {
		t.Errorf("roots = %q, want [%s]", roots, self)
	}
	if p := g.Packages[self]; p == nil || len(p.Imports) == 0 {
		t.Errorf("no imports loaded for %s", self)
	}
	if p := g.Packages["os/exec"]; p == nil || !p.Standard {
		t.Errorf("os/exec missing or not standard: %+v", p)
	}
}

// TestLoad_EmptyModule: a module with only a go.mod (as gateway/ was at the
// start) loads as an empty graph and breaks no rule.
func TestLoad_EmptyModule(t *testing.T) {
	dir := writeModule(t, map[string]string{"go.mod": goMod})
	g, err := archtest.Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(g.Packages) != 0 {
		t.Errorf("packages = %v, want none", g.Packages)
	}
	if v := archtest.Evaluate(g, archtest.Rules()); len(v) != 0 {
		t.Errorf("violations in an empty module: %v", v)
	}
}

// TestLoad_TestOnlyFolder: a module root holding only arch_test.go is not a
// load error.
func TestLoad_TestOnlyFolder(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"go.mod":       goMod,
		"arch_test.go": "package m_test\n",
		"a/a.go":       "package a\n\nimport _ \"strings\"\n",
	})
	g, err := archtest.Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if p := g.Packages["example.com/m/a"]; p == nil || !p.Root || len(p.Imports) != 1 || p.Imports[0] != "strings" {
		t.Errorf("example.com/m/a = %+v, want a root importing strings", p)
	}
}

// TestLoad_BrokenPackage: a package that does not load is an error, since
// its imports would go unchecked; the rest of the graph still loads.
func TestLoad_BrokenPackage(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"go.mod":     goMod,
		"ok/ok.go":   "package ok\n\nimport _ \"strings\"\n",
		"bad/bad.go": "package bad\n\nimport _ \"example.com/nowhere\"\n",
	})
	g, err := archtest.Load(dir)
	if err == nil || !strings.Contains(err.Error(), "example.com/nowhere") {
		t.Errorf("Load error = %v, want one naming example.com/nowhere", err)
	}
	if g == nil || g.Packages["example.com/m/ok"] == nil {
		t.Errorf("example.com/m/ok missing from the graph")
	}
}

// TestLoad_FindsForbiddenEdge runs the whole path, go list included, on a
// module that breaks a rule.
func TestLoad_FindsForbiddenEdge(t *testing.T) {
	dir := writeModule(t, map[string]string{
		"go.mod":           goMod,
		"relay/relay.go":   "package relay\n\nimport _ \"example.com/m/store\"\n",
		"store/store.go":   "package store\n\nimport _ \"database/sql\"\n",
		"relay/x_test.go":  "package relay\n\nimport _ \"net/http/httptest\"\n",
		"store/s_test.go":  "package store_test\n\nimport _ \"testing\"\n",
		"other/other.go":   "package other\n",
		"other/o_test.go":  "package other\n\nimport _ \"database/sql\"\n",
		"cmd/tool/main.go": "package main\n\nfunc main() {}\n",
	})
	g, err := archtest.Load(dir)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	rules := []archtest.Rule{
		{Name: "no sql on the hot path", From: []string{"example.com/m/relay/...", "example.com/m/other"}, Forbid: []string{"database/sql"}},
		{Name: "no httptest in production", From: []string{"example.com/m/..."}, Forbid: []string{"net/http/httptest"}},
	}
	got := archtest.Evaluate(g, rules)
	if len(got) != 1 {
		t.Fatalf("violations = %v, want exactly relay -> store -> database/sql (test files are not production)", got)
	}
	want := []string{"example.com/m/relay", "example.com/m/store", "database/sql"}
	if strings.Join(got[0].Chain, " ") != strings.Join(want, " ") {
		t.Errorf("chain = %q, want %q", got[0].Chain, want)
	}
}
