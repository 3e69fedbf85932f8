// Package archtest fails a test when a module's import graph breaks the
// dependency rules of docs/architecture.md "Dependency rules". It is
// test-only: production code never imports it (the rules below check that
// too).
//
// Loading the graph (Load, which runs `go list -deps`) is separate from
// evaluating rules against it (Evaluate), so that every rule can be shown to
// fail on a made-up graph. Each module calls Check from an arch_test.go at its
// root:
//
//	func TestArchitecture(t *testing.T) { archtest.Check(t, archtest.Rules()) }
//
// It imports only the standard library, so that any module of the workspace
// can use it.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Package is one node of an import graph.
type Package struct {
	ImportPath string
	// Imports are the package's direct imports in production builds (test
	// files excluded).
	Imports []string
	// Standard is true for packages of the standard library.
	Standard bool
	// Root is true for the packages of the module under test (as opposed to
	// its dependencies): only roots are held to the rules.
	Root bool
}

// Graph is a module's production import graph: its own packages and
// everything they depend on.
type Graph struct {
	Packages map[string]*Package
}

// NewGraph builds a Graph from a list of packages.
func NewGraph(pkgs ...Package) *Graph {
	g := &Graph{Packages: make(map[string]*Package, len(pkgs))}
	for i := range pkgs {
		p := pkgs[i]
		g.Packages[p.ImportPath] = &p
	}
	return g
}

// isStandard reports whether path is a standard-library package. Paths
// missing from the graph are judged by their first element: only non-standard
// paths have a dot there. "C" is cgo's pseudo-package.
func (g *Graph) isStandard(path string) bool {
	if p, ok := g.Packages[path]; ok {
		return p.Standard
	}
	if path == "C" {
		return true
	}
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

// listedPackage is the part of `go list -json` output Load reads.
type listedPackage struct {
	ImportPath string
	Imports    []string
	Standard   bool
	DepOnly    bool
	Error      *struct{ Err string }
}

// Load lists the production packages of the module in dir (`./...`) with all
// their dependencies. A module with no packages yet yields an empty graph.
// Packages that fail to load (the module's own or a dependency, such as an
// import that resolves to nothing) are reported in the error, with the graph
// of everything that did load.
func Load(dir string) (*Graph, error) {
	cmd := exec.Command(goTool(), "list", "-e", "-deps", "-json=ImportPath,Imports,Standard,DepOnly,Error", "./...")
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list in %s: %w: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	g := &Graph{Packages: map[string]*Package{}}
	var errs []error
	dec := json.NewDecoder(&stdout)
	for {
		var lp listedPackage
		if err := dec.Decode(&lp); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if lp.Error != nil && !isTestOnly(lp.Error.Err) {
			errs = append(errs, fmt.Errorf("%s: %s", lp.ImportPath, lp.Error.Err))
		}
		g.Packages[lp.ImportPath] = &Package{
			ImportPath: lp.ImportPath,
			Imports:    lp.Imports,
			Standard:   lp.Standard,
			Root:       !lp.DepOnly,
		}
	}
	return g, errors.Join(errs...)
}

// isTestOnly reports whether a go list error only says that a folder holds
// test files alone (as a module root with just arch_test.go does): such a
// package has no production imports to check.
func isTestOnly(msg string) bool {
	return strings.Contains(msg, "no non-test Go files")
}

// goTool returns the go command of the toolchain running the test when `go
// test` says where it is, else the one on PATH.
func goTool() string {
	if root := os.Getenv("GOROOT"); root != "" {
		p := filepath.Join(root, "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "go"
}

// Check loads the import graph of the module in the current directory (a
// test runs in its package's folder: put the caller at the module root) and
// fails t once per broken rule edge.
func Check(t testing.TB, rules []Rule) {
	t.Helper()
	g, err := Load(".")
	if g == nil {
		t.Fatalf("archtest: %v", err)
	}
	if err != nil {
		t.Errorf("archtest: some packages did not load, so their imports are not checked: %v", err)
	}
	roots := 0
	for _, p := range g.Packages {
		if p.Root {
			roots++
		}
	}
	t.Logf("archtest: %d packages of this module, %d in the graph, %d rules", roots, len(g.Packages), len(rules))
	for _, v := range Evaluate(g, rules) {
		t.Error(v.String())
	}
}
