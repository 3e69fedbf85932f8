// Package authlogtest runs Debian's fail2ban over the project's filter,
// jails and action (deploy/fail2ban) for tests: fail2ban-regex over a log
// file the services wrote, and a foreground fail2ban-server with the
// project's jails and its notify action (no firewall), its configuration
// and socket in a temporary folder. fail2ban is a Debian package that
// `make services` installs; a test fails, never skips, without it.
package authlogtest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// DeployDir is the repository's deploy/fail2ban folder.
func DeployDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "deploy", "fail2ban")
}

// Tool returns the path of a fail2ban program on PATH, or fails the test
// saying how to install it.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not on PATH: run `make services`, which installs Debian's fail2ban package (apt-get install fail2ban)", name)
	}
	return p
}

// Jail is one jail of deploy/fail2ban/jail.d/resayil.conf as written.
type Jail struct {
	Name     string
	Filter   string
	LogPath  string
	MaxRetry int
	FindTime string
	BanTime  string
}

// Jails reads the project's jail file. Continuation lines (the action's)
// are ignored: tests replace the action anyway.
func Jails(t testing.TB) map[string]Jail {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(DeployDir(), "jail.d", "resayil.conf"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Jail{}
	var cur *Jail
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		if strings.HasPrefix(trimmed, "[") && strings.HasSuffix(trimmed, "]") {
			name := strings.Trim(trimmed, "[]")
			out[name] = Jail{Name: name}
			j := out[name]
			cur = &j
			continue
		}
		k, v, ok := strings.Cut(trimmed, "=")
		if !ok || cur == nil {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "filter":
			cur.Filter = v
		case "logpath":
			cur.LogPath = v
		case "maxretry":
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("jail %s: maxretry %q", cur.Name, v)
			}
			cur.MaxRetry = n
		case "findtime":
			cur.FindTime = v
		case "bantime":
			cur.BanTime = v
		}
		out[cur.Name] = *cur
	}
	if len(out) == 0 {
		t.Fatal("no jail in deploy/fail2ban/jail.d/resayil.conf")
	}
	return out
}

// Match is one line fail2ban-regex matched: the address it would count
// and the time it read.
type Match struct {
	IP   string
	Time time.Time
}

var rowRe = regexp.MustCompile(`^\['([^']*)',\s*([0-9.]+),`)

// Regex runs fail2ban-regex over the log file with the filter of the
// project's jail (its kinds parameter included) and returns what it
// matched, in file order. It runs in the Asia/Kuwait time zone, so that
// a line whose time fail2ban read as local time would be three hours off.
func Regex(t testing.TB, logPath, jail string) []Match {
	t.Helper()
	j, ok := Jails(t)[jail]
	if !ok {
		t.Fatalf("no jail %q in deploy/fail2ban/jail.d/resayil.conf", jail)
	}
	cmd := exec.Command(Tool(t, "fail2ban-regex"), "-c", DeployDir(), "-o", "row", logPath, j.Filter)
	cmd.Env = append(os.Environ(), "TZ=Asia/Kuwait")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-regex %s %s: %v\n%s", logPath, j.Filter, err, out)
	}
	var matches []Match
	for _, line := range strings.Split(string(out), "\n") {
		m := rowRe.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		sec, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("fail2ban-regex row %q", line)
		}
		matches = append(matches, Match{IP: m[1], Time: time.Unix(0, int64(sec*1e9)).UTC()})
	}
	return matches
}
