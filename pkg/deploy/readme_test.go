package deploy_test

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeEnvTable: README's configuration table is generated from
// .env.example by scripts/env-table.sh; a variable missing from it means
// the script was not run after a change.
func TestReadmeEnvTable(t *testing.T) {
	root := repoRoot(t)
	env := readFile(t, filepath.Join(root, ".env.example"))
	readme := readFile(t, filepath.Join(root, "README.md"))
	start, end := strings.Index(readme, "<!-- env-table:start -->"), strings.Index(readme, "<!-- env-table:end -->")
	if start < 0 || end < start {
		t.Fatal("README.md lacks the env-table markers")
	}
	table := readme[start:end]
	vars := regexp.MustCompile(`(?m)^(RESAYIL_[A-Z0-9_]+)=(.*)$`).FindAllStringSubmatch(env, -1)
	if len(vars) == 0 {
		t.Fatal("no variables found in .env.example")
	}
	for _, v := range vars {
		def := "*(empty)*"
		if v[2] != "" {
			def = "`" + v[2] + "`"
		}
		if !strings.Contains(table, "| `"+v[1]+"` | "+def+" |") {
			t.Errorf("README.md's table lacks %s with default %s: run scripts/env-table.sh", v[1], def)
		}
	}
}
