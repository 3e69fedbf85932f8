package migrations_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// This module cannot use pkg/archtest (pkg imports migrations, and
// migrations imports nothing of ours), so it checks its one rule here.

const (
	thisModule = "github.com/resayil/portal/migrations"
	goose      = "github.com/pressly/goose/v3"
)

// TestArchitecture: migrations imports only goose and the standard library
// (docs/architecture.md "Dependency rules"), so that pkg/testenv and the
// cmd/* programs can import it and never the reverse. Test files are not
// production and may import drivers.
func TestArchitecture(t *testing.T) {
	goTool := "go"
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			goTool = p
		}
	}
	out, err := exec.Command(goTool, "list", "-deps",
		"-f", "{{.ImportPath}} {{.Standard}} {{.DepOnly}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v: %s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	standard := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		standard[f[0]] = f[1] == "true"
		if f[2] == "false" {
			imports[f[0]] = f[3:]
		}
	}
	if _, ok := imports[thisModule]; !ok {
		t.Fatalf("go list did not list %s; got %v", thisModule, imports)
	}
	for _, v := range disallowedImports(imports, standard) {
		t.Errorf("%s, which breaks the rule: migrations imports only goose and the standard library", v)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// disallowedImports returns "pkg imports dep" for every direct import of the
// module's packages that is neither standard, goose, nor the module's own.
func disallowedImports(imports map[string][]string, standard map[string]bool) []string {
	var out []string
	for pkg, imps := range imports {
		for _, imp := range imps {
			switch {
			case standard[imp], imp == "C",
				imp == goose, strings.HasPrefix(imp, goose+"/"),
				imp == thisModule, strings.HasPrefix(imp, thisModule+"/"):
				continue
			}
			out = append(out, pkg+" imports "+imp)
		}
	}
	sort.Strings(out)
	return out
}

func TestDisallowedImports(t *testing.T) {
	standard := map[string]bool{"embed": true, "database/sql": true}
	imports := map[string][]string{
		thisModule: {"embed", "database/sql", goose, goose + "/lock", thisModule + "/internal/x"},
		thisModule + "/internal/x": {
			"github.com/resayil/portal/pkg/database",
			"github.com/go-sql-driver/mysql",
			"github.com/pressly/goose/v3x",
		},
	}
	got := disallowedImports(imports, standard)
	want := []string{
		thisModule + "/internal/x imports github.com/go-sql-driver/mysql",
		thisModule + "/internal/x imports github.com/pressly/goose/v3x",
		thisModule + "/internal/x imports github.com/resayil/portal/pkg/database",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("disallowedImports:\n got %q\nwant %q", got, want)
	}
}
