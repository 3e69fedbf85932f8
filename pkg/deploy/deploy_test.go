package deploy_test

import (
	"bufio"
	"debug/elf"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// buildPrefix starts the one RUN line of each Dockerfile that this test
// runs verbatim.
const buildPrefix = "CGO_ENABLED=0 go build"

// configDirs hold the config structs whose `env` tags are the RESAYIL_
// variables (config.Common, portal-api's and the gateway's Config).
var configDirs = []string{"pkg/config", "portal-api/internal/app", "gateway/internal/app"}

// TestDockerfiles runs each image's build command from the repository root
// (the Dockerfiles' WORKDIR holds the same tree) into a temporary folder and
// checks what the final stage relies on: every binary it copies exists, is
// statically linked (distroless/static has no libc) and runs.
func TestDockerfiles(t *testing.T) {
	root := repoRoot(t)
	for _, name := range []string{"gateway", "portal-api"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(root, "deploy", name+".Dockerfile")
			lines := dockerfileLines(t, path)

			for _, m := range workspaceModules(t, root) {
				if !slices.Contains(lines, "COPY "+m+"/go.mod "+m+"/go.sum "+m+"/") {
					t.Errorf("%s does not copy %s/go.mod and go.sum: workspace mode needs every module of go.work", path, m)
				}
			}

			build := buildCommand(t, lines)
			assertSourcesCopied(t, root, lines, build)
			for _, flag := range []string{"-trimpath", `-ldflags="-s -w"`} {
				if !strings.Contains(build, " "+flag+" ") {
					t.Errorf("build command lacks %s: %s", flag, build)
				}
			}
			out := t.TempDir()
			runBuild(t, root, build, out)

			final := finalStage(lines)
			copied := map[string]bool{}
			for _, l := range final {
				f := strings.Fields(l)
				if len(f) == 4 && f[0] == "COPY" && f[1] == "--from=build" {
					bin := filepath.Join(out, filepath.Base(f[2]))
					if _, err := os.Stat(bin); err != nil {
						t.Errorf("final stage copies %s, which the build command does not produce", f[2])
					}
					copied[f[3]] = true
				}
			}
			for _, want := range []string{"/" + name, "/healthcheck"} {
				if !copied[want] {
					t.Errorf("final stage does not copy %s", want)
				}
			}
			if name == "portal-api" {
				// The web app: built by the web stage, served from where
				// RESAYIL_STATIC_DIR points.
				if !slices.Contains(final, "COPY --from=web /src/frontend/dist /srv/web") || !strings.Contains(instruction(final, "ENV"), "RESAYIL_STATIC_DIR=/srv/web") {
					t.Errorf("portal-api's final stage must copy the web build to /srv/web and set RESAYIL_STATIC_DIR=/srv/web")
				}
				if !slices.Contains(lines, "RUN npm ci --no-audit --no-fund") || !slices.Contains(lines, "RUN npm run build") {
					t.Errorf("portal-api's web stage must install from the lock file and run the web app's build")
				}
			}
			if !slices.Contains(final, `ENTRYPOINT ["/`+name+`"]`) {
				t.Errorf(`final stage lacks ENTRYPOINT ["/%s"]`, name)
			}
			if user := instruction(final, "USER"); user == "" || user == "root" || strings.HasPrefix(user, "0") {
				t.Errorf("final stage must run as a non-root USER, got %q", user)
			}

			entries, err := os.ReadDir(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				bin := filepath.Join(out, e.Name())
				assertStatic(t, bin)
				if info, err := e.Info(); err == nil {
					t.Logf("%s: %d bytes", e.Name(), info.Size())
				}
				if out, err := exec.Command(bin, "help").CombinedOutput(); err != nil || !strings.Contains(string(out), "usage") {
					t.Errorf("%s help: %v\n%s", e.Name(), err, out)
				}
			}
			assertHealthcheckProbes(t, filepath.Join(out, "healthcheck"))
		})
	}
}

// TestComposeConfig validates docker-compose.yml with Debian's docker-compose
// against .env.example with the required secrets filled in, then proves that
// each `${VAR:?...}` guard stops compose when its variable is empty.
func TestComposeConfig(t *testing.T) {
	root := repoRoot(t)
	compose, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatal("docker-compose is not installed: apt-get install -y --no-install-recommends docker-compose (make services does)")
	}
	file := filepath.Join(root, "docker-compose.yml")
	required := requiredVars(t, file)
	for _, want := range []string{"MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD", "REDIS_PASSWORD", "RESAYIL_JWT_SECRET", "RESAYIL_ADMIN_PASSWORD"} {
		if !slices.Contains(required, want) {
			t.Errorf("docker-compose.yml does not require %s with ${%s:?message}", want, want)
		}
	}
	example := readFile(t, filepath.Join(root, ".env.example"))
	secrets := map[string]string{}
	for i, v := range required {
		secrets[v] = "0123456789abcdef0123456789abcdef" + strconv.Itoa(i)
	}

	config := func(t *testing.T, values map[string]string) (string, error) {
		t.Helper()
		dir := t.TempDir()
		env := filepath.Join(dir, ".env")
		if err := os.WriteFile(env, []byte(fillEnv(t, example, values)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(compose, "-f", file, "--env-file", env, "config", "-q")
		// Only the env file may provide values: none leak in from the caller.
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	t.Run("Valid", func(t *testing.T) {
		t.Parallel()
		if out, err := config(t, secrets); err != nil {
			t.Fatalf("docker-compose config -q: %v\n%s", err, out)
		}
	})
	for _, v := range required {
		t.Run("Missing_"+v, func(t *testing.T) {
			t.Parallel()
			values := map[string]string{}
			for k, s := range secrets {
				if k != v {
					values[k] = s
				}
			}
			out, err := config(t, values)
			if err == nil {
				t.Fatalf("docker-compose config -q accepted the file without %s", v)
			}
			if !strings.Contains(out, v) {
				t.Errorf("the error does not name %s:\n%s", v, out)
			}
		})
	}
}

// TestEnvExample fails when a RESAYIL_ variable of a config struct is not
// documented in .env.example with its default, when .env.example documents
// one that nothing reads, or when compose uses a variable it does not list.
func TestEnvExample(t *testing.T) {
	root := repoRoot(t)
	vars := configVars(t, root)
	if len(vars) < 10 {
		t.Fatalf("found only %d RESAYIL_ variables in %v: is the scan broken?", len(vars), configDirs)
	}
	documented := envExample(t, filepath.Join(root, ".env.example"))

	for name, def := range vars {
		got, ok := documented[name]
		switch {
		case !ok:
			t.Errorf(".env.example lacks %s (default %q): add a comment line and %s=%s", name, def, name, def)
		case got != def:
			t.Errorf(".env.example gives %s=%q, but its default is %q", name, got, def)
		}
	}
	for name := range documented {
		if _, ok := vars[name]; strings.HasPrefix(name, "RESAYIL_") && !ok {
			t.Errorf(".env.example documents %s, which no config struct reads", name)
		}
	}

	compose := readFile(t, filepath.Join(root, "docker-compose.yml"))
	for _, name := range interpolatedVars(withoutComments(compose)) {
		if _, ok := documented[name]; !ok {
			t.Errorf("docker-compose.yml uses ${%s} but .env.example does not document it", name)
		}
	}
	sc := bufio.NewScanner(strings.NewReader(compose))
	for sc.Scan() {
		key, _, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if ok && strings.HasPrefix(key, "RESAYIL_") {
			if _, known := vars[key]; !known {
				t.Errorf("docker-compose.yml sets %s, which no config struct reads", key)
			}
		}
	}
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dockerfileLines returns the Dockerfile's instructions, with `\`
// continuations joined and comments dropped.
func dockerfileLines(t *testing.T, path string) []string {
	t.Helper()
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(strings.NewReader(readFile(t, path)))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (l == "" || strings.HasPrefix(l, "#")) {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			cur.WriteString(strings.TrimSpace(strings.TrimSuffix(l, `\`)) + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	return lines
}

// buildCommand returns the one `RUN CGO_ENABLED=0 go build ...` command.
func buildCommand(t *testing.T, lines []string) string {
	t.Helper()
	var found []string
	for _, l := range lines {
		if cmd, ok := strings.CutPrefix(l, "RUN "); ok && strings.HasPrefix(strings.TrimSpace(cmd), buildPrefix) {
			found = append(found, strings.TrimSpace(cmd))
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one `RUN %s ...` line, found %d", buildPrefix, len(found))
	}
	return found[0]
}

// runBuild runs the build command with its -o folder replaced by out.
func runBuild(t *testing.T, root, build, out string) {
	t.Helper()
	f := strings.Fields(build)
	i := 0
	for i < len(f) && f[i] != "-o" {
		i++
	}
	if i+1 >= len(f) || !strings.HasSuffix(f[i+1], "/") {
		t.Fatalf("build command must write into a folder (-o /dir/): %s", build)
	}
	cmdline := strings.Replace(build, " -o "+f[i+1]+" ", " -o "+out+"/ ", 1)
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Dir = root
	path := os.Getenv("PATH")
	if g := goTool(); g != "go" {
		path = filepath.Dir(g) + string(os.PathListSeparator) + path
	}
	cmd.Env = append(os.Environ(), "PATH="+path)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, b)
	}
}

// assertSourcesCopied fails when a package the build compiles lives in a
// folder that the Dockerfile does not COPY before building: the local run
// sees the whole tree, the image build only what was copied.
func assertSourcesCopied(t *testing.T, root string, lines []string, build string) {
	t.Helper()
	var copied []string
	for _, l := range lines {
		f := strings.Fields(l)
		if strings.HasPrefix(l, "RUN "+buildPrefix) {
			break
		}
		if len(f) == 3 && f[0] == "COPY" && strings.HasSuffix(f[1], "/") && f[1] == f[2] {
			copied = append(copied, filepath.Join(root, f[1]))
		}
	}
	args := []string{"list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}"}
	for _, a := range strings.Fields(build) {
		if strings.HasPrefix(a, "./") {
			args = append(args, a)
		}
	}
	cmd := exec.Command(goTool(), args...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %v: %v", args, err)
	}
	for _, dir := range strings.Fields(string(out)) {
		if !strings.HasPrefix(dir, root+string(filepath.Separator)) {
			continue // a module from the download cache
		}
		ok := false
		for _, c := range copied {
			ok = ok || strings.HasPrefix(dir+string(filepath.Separator), c+string(filepath.Separator))
		}
		if !ok {
			t.Errorf("the build compiles %s, but the Dockerfile does not COPY its folder", dir)
		}
	}
}

// goTool returns the go command of the running toolchain.
func goTool() string {
	if goroot := os.Getenv("GOROOT"); goroot != "" {
		if p := filepath.Join(goroot, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// finalStage returns the instructions after the last FROM.
func finalStage(lines []string) []string {
	last := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			last = i
		}
	}
	return lines[last:]
}

// instruction returns the argument of the last instruction named name.
func instruction(lines []string, name string) string {
	v := ""
	for _, l := range lines {
		if arg, ok := strings.CutPrefix(l, name+" "); ok {
			v = strings.TrimSpace(arg)
		}
	}
	return v
}

// workspaceModules lists the `use` folders of go.work.
func workspaceModules(t *testing.T, root string) []string {
	t.Helper()
	var mods []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(readFile(t, filepath.Join(root, "go.work"))))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "use (":
			in = true
		case in && l == ")":
			in = false
		case in && l != "":
			mods = append(mods, strings.TrimPrefix(l, "./"))
		case strings.HasPrefix(l, "use ./"):
			mods = append(mods, strings.TrimPrefix(l, "use ./"))
		}
	}
	if len(mods) == 0 {
		t.Fatal("no modules in go.work")
	}
	return mods
}

// assertStatic fails unless bin is an ELF executable with no program
// interpreter and no shared libraries.
func assertStatic(t *testing.T, bin string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Errorf("%s: %v", bin, err)
		return
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s is dynamically linked (has PT_INTERP)", filepath.Base(bin))
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("%s needs shared libraries %v (%v)", filepath.Base(bin), libs, err)
	}
}

// assertHealthcheckProbes checks the probe the compose health checks call:
// exit 0 on 2xx, non-zero on an error status, a dead server or no URL.
func assertHealthcheckProbes(t *testing.T, bin string) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	if out, err := exec.Command(bin, srv.URL+"/readyz").CombinedOutput(); err != nil {
		t.Errorf("healthcheck on a 200: %v\n%s", err, out)
	}
	for _, args := range [][]string{{srv.URL + "/down"}, {"http://127.0.0.1:1/readyz"}, {}} {
		if err := exec.Command(bin, args...).Run(); err == nil {
			t.Errorf("healthcheck %v exited 0", args)
		}
	}
}

// requiredVars returns the names guarded with ${NAME:?...} in the file.
func requiredVars(t *testing.T, path string) []string {
	t.Helper()
	var names []string
	s := withoutComments(readFile(t, path))
	for _, ref := range strings.Split(s, "${")[1:] {
		if name, _, ok := strings.Cut(ref, ":?"); ok && isVarName(name) && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// withoutComments drops the YAML comment lines of s.
func withoutComments(s string) string {
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if !strings.HasPrefix(strings.TrimSpace(sc.Text()), "#") {
			b.WriteString(sc.Text() + "\n")
		}
	}
	return b.String()
}

// interpolatedVars returns every NAME of ${NAME...} in s.
func interpolatedVars(s string) []string {
	var names []string
	for _, ref := range strings.Split(s, "${")[1:] {
		end := strings.IndexAny(ref, ":-?}")
		if end > 0 && isVarName(ref[:end]) && !slices.Contains(names, ref[:end]) {
			names = append(names, ref[:end])
		}
	}
	return names
}

func isVarName(s string) bool {
	for _, r := range s {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

// fillEnv returns .env.example with the given values set; a variable not
// in values keeps the example's (empty for secrets).
func fillEnv(t *testing.T, example string, values map[string]string) string {
	t.Helper()
	seen := map[string]bool{}
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(example))
	for sc.Scan() {
		l := sc.Text()
		if name, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			seen[name] = true
			if v, set := values[name]; set {
				l = name + "=" + v
			}
		}
		b.WriteString(l + "\n")
	}
	for name := range values {
		if !seen[name] {
			t.Errorf("docker-compose.yml requires %s, but .env.example does not list it", name)
		}
	}
	return b.String()
}

// envExample parses .env.example: every assignment follows a comment line.
func envExample(t *testing.T, path string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	prev := ""
	sc := bufio.NewScanner(strings.NewReader(readFile(t, path)))
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			name, value, ok := strings.Cut(l, "=")
			switch {
			case !ok || !isVarName(name):
				t.Errorf(".env.example:%d: want NAME=default, got %q", n, l)
			case !strings.HasPrefix(prev, "#"):
				t.Errorf(".env.example:%d: %s needs a comment line above it saying who reads it", n, name)
			case containsKey(vars, name):
				t.Errorf(".env.example:%d: %s is listed twice", n, name)
			}
			vars[name] = value
		}
		prev = l
	}
	return vars
}

func containsKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}

// configVars returns every RESAYIL_ variable of the config structs with its
// envDefault, read from the `env` struct tags of the non-test files.
func configVars(t *testing.T, root string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	fset := token.NewFileSet()
	for _, dir := range configDirs {
		files, err := filepath.Glob(filepath.Join(root, dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				field, ok := n.(*ast.Field)
				if !ok || field.Tag == nil {
					return true
				}
				raw, err := strconv.Unquote(field.Tag.Value)
				if err != nil {
					t.Fatalf("%s: %v", fset.Position(field.Pos()), err)
				}
				tag := reflect.StructTag(raw)
				if _, ok := tag.Lookup("envPrefix"); ok {
					t.Fatalf("%s: envPrefix is not understood by this scan; extend configVars", fset.Position(field.Pos()))
				}
				name, ok := tag.Lookup("env")
				if name, _, _ = strings.Cut(name, ","); !ok || name == "" || name == "-" {
					return true
				}
				if prev, dup := vars["RESAYIL_"+name]; dup && prev != tag.Get("envDefault") {
					t.Errorf("%s: RESAYIL_%s is declared twice with different defaults", fset.Position(field.Pos()), name)
				}
				vars["RESAYIL_"+name] = tag.Get("envDefault")
				return true
			})
		}
	}
	return vars
}
