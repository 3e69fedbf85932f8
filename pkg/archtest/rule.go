package archtest

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Rule constrains what the module's packages matching From (less Except)
// may depend on.
//
// Patterns are import paths; `*` matches within one path element (as in
// path.Match) and a trailing `/...` also matches every package below, so
// "example.com/pkg/fake/..." matches example.com/pkg/fake and
// example.com/pkg/fake/x/y.
type Rule struct {
	// Name says what the rule protects; failures quote it.
	Name string
	// From selects the constrained packages among the module's own.
	From []string
	// Except removes packages from From.
	Except []string
	// Forbid lists packages that a From package may not depend on, directly
	// or through any chain of imports.
	Forbid []string
	// StdlibAnd, when not nil, makes this an allow-list rule: a From
	// package may import directly only the standard library, other From
	// packages and the packages StdlibAnd matches (whose own dependencies
	// are theirs to choose). An empty, non-nil list allows the standard
	// library alone.
	StdlibAnd []string
}

// Violation is one forbidden dependency.
type Violation struct {
	Rule string
	// From is the module package that breaks the rule, Dep the package it
	// may not depend on.
	From, Dep string
	// Chain is the shortest import chain from From to Dep, both included.
	Chain []string
}

func (v Violation) String() string {
	if len(v.Chain) > 2 {
		return fmt.Sprintf("%s depends on %s (%s), which breaks the rule %q", v.From, v.Dep, strings.Join(v.Chain, " -> "), v.Rule)
	}
	return fmt.Sprintf("%s imports %s, which breaks the rule %q", v.From, v.Dep, v.Rule)
}

// Evaluate returns every violation of rules in g, sorted by rule, package
// and dependency.
func Evaluate(g *Graph, rules []Rule) []Violation {
	var out []Violation
	roots := make([]string, 0, len(g.Packages))
	for path, p := range g.Packages {
		if p.Root {
			roots = append(roots, path)
		}
	}
	sort.Strings(roots)
	for _, r := range rules {
		for _, from := range roots {
			if !matchAny(r.From, from) || matchAny(r.Except, from) {
				continue
			}
			if r.StdlibAnd != nil {
				out = append(out, r.checkAllowed(g, from)...)
			}
			if len(r.Forbid) > 0 {
				out = append(out, r.checkForbidden(g, from)...)
			}
		}
	}
	return out
}

// checkAllowed checks the direct imports of from against the allow-list.
func (r Rule) checkAllowed(g *Graph, from string) []Violation {
	var out []Violation
	for _, imp := range sortedImports(g, from) {
		if g.isStandard(imp) || matchAny(r.From, imp) || matchAny(r.StdlibAnd, imp) {
			continue
		}
		out = append(out, Violation{Rule: r.Name, From: from, Dep: imp, Chain: []string{from, imp}})
	}
	return out
}

// checkForbidden walks everything from depends on, breadth first so that the
// chain reported is a shortest one.
func (r Rule) checkForbidden(g *Graph, from string) []Violation {
	var out []Violation
	parent := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, imp := range sortedImports(g, cur) {
			if _, seen := parent[imp]; seen {
				continue
			}
			parent[imp] = cur
			queue = append(queue, imp)
			if matchAny(r.Forbid, imp) {
				out = append(out, Violation{Rule: r.Name, From: from, Dep: imp, Chain: chain(parent, imp)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dep < out[j].Dep })
	return out
}

func sortedImports(g *Graph, path string) []string {
	p, ok := g.Packages[path]
	if !ok {
		return nil
	}
	imps := append([]string(nil), p.Imports...)
	sort.Strings(imps)
	return imps
}

func chain(parent map[string]string, to string) []string {
	var c []string
	for p := to; p != ""; p = parent[p] {
		c = append(c, p)
	}
	for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
		c[i], c[j] = c[j], c[i]
	}
	return c
}

func matchAny(patterns []string, pkg string) bool {
	for _, p := range patterns {
		if Match(p, pkg) {
			return true
		}
	}
	return false
}

// Match reports whether the import path pkg matches pattern (see Rule).
func Match(pattern, pkg string) bool {
	base, tree := strings.CutSuffix(pattern, "/...")
	if ok, _ := path.Match(base, pkg); ok {
		return true
	}
	if !tree {
		return false
	}
	// Try every ancestor of pkg with as many elements as base.
	n := strings.Count(base, "/") + 1
	elems := strings.Split(pkg, "/")
	if len(elems) <= n {
		return false
	}
	ok, _ := path.Match(base, strings.Join(elems[:n], "/"))
	return ok
}
