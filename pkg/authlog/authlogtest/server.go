package authlogtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ServerOptions configure a test fail2ban-server.
type ServerOptions struct {
	// LogPath is the auth-failure log every jail reads; it must exist.
	LogPath string
	// URL and HeaderFile are resayil-notify's http settings: the portal's
	// base URL and the file holding "Authorization: Bearer <token>".
	URL, HeaderFile string
}

// Server is a fail2ban-server running in the foreground with the
// project's filter, jails and resayil-notify action, as an operator
// installs them, with three local overrides in the operator's way
// (jail.d/resayil.local, action.d/resayil-notify.local): the log path, the
// polling backend, and only resayil-notify as the action (no firewall).
type Server struct {
	dir, sock string
	client    string
	cmd       *exec.Cmd
	done      chan struct{}

	mu    sync.Mutex
	lines []string
	grew  chan struct{}
}

// StartServer starts fail2ban-server and waits until both jails run. The
// server is stopped when the test ends; its log is printed if it failed.
func StartServer(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	server := Tool(t, "fail2ban-server")
	s := &Server{dir: t.TempDir(), client: Tool(t, "fail2ban-client"), done: make(chan struct{}), grew: make(chan struct{})}
	s.sock = filepath.Join(s.dir, "fail2ban.sock")
	for _, sub := range []string{"filter.d", "action.d", "jail.d"} {
		if err := os.MkdirAll(filepath.Join(s.dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"filter.d/resayil.conf", "action.d/resayil-notify.conf", "jail.d/resayil.conf"} {
		copyFile(t, filepath.Join(DeployDir(), f), filepath.Join(s.dir, f))
	}
	write(t, filepath.Join(s.dir, "fail2ban.conf"), fmt.Sprintf(`[Definition]
loglevel = INFO
logtarget = STDOUT
socket = %s
pidfile = %s
dbfile = :memory:
`, s.sock, filepath.Join(s.dir, "fail2ban.pid")))
	// Debian's jail.conf defines the firewall actions the project's jails
	// name; the overrides below replace them, so an empty DEFAULT will do.
	write(t, filepath.Join(s.dir, "jail.conf"), "[DEFAULT]\n")
	var local strings.Builder
	for name := range Jails(t) {
		fmt.Fprintf(&local, "[%s]\nlogpath = %s\nbackend = polling\naction = resayil-notify\n\n", name, o.LogPath)
	}
	write(t, filepath.Join(s.dir, "jail.d", "resayil.local"), local.String())
	write(t, filepath.Join(s.dir, "action.d", "resayil-notify.local"),
		fmt.Sprintf("[Init]\nurl = %s\nheaderfile = %s\n", o.URL, o.HeaderFile))

	s.cmd = exec.Command(server, "-f", "-x", "-c", s.dir, "-s", s.sock, "-p", filepath.Join(s.dir, "fail2ban.pid"))
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.cmd.Stdout
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go s.read(out)
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("fail2ban-server log:\n%s", strings.Join(s.Lines(), "\n"))
		}
	})
	for name := range Jails(t) {
		s.WaitLog(t, fmt.Sprintf("Jail '%s' started", name), 1, 30*time.Second)
	}
	return s
}

// read keeps every line the server prints and wakes WaitLog.
func (s *Server) read(r io.Reader) {
	defer close(s.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		s.mu.Lock()
		s.lines = append(s.lines, sc.Text())
		close(s.grew)
		s.grew = make(chan struct{})
		s.mu.Unlock()
	}
}

// Lines returns what the server has printed so far.
func (s *Server) Lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.lines...)
}

// WaitLog waits until the server has printed n lines containing substr,
// and fails the test if it has not within timeout or if it exits first.
func (s *Server) WaitLog(t testing.TB, substr string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		count := 0
		for _, l := range s.lines {
			if strings.Contains(l, substr) {
				count++
			}
		}
		grew := s.grew
		s.mu.Unlock()
		if count >= n {
			return
		}
		select {
		case <-grew:
		case <-s.done:
			t.Fatalf("fail2ban-server exited before printing %q %d time(s)", substr, n)
		case <-deadline.C:
			t.Fatalf("fail2ban-server printed %q %d time(s) within %s, want %d", substr, count, timeout, n)
		}
	}
}

// Count returns how many lines printed so far contain substr.
func (s *Server) Count(substr string) int {
	n := 0
	for _, l := range s.Lines() {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// Client runs fail2ban-client against this server and returns its output.
func (s *Server) Client(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(s.client, append([]string{"-s", s.sock}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("fail2ban-client %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// JailStatus is what `fail2ban-client status <jail>` says.
type JailStatus struct {
	CurrentlyFailed, TotalFailed, CurrentlyBanned, TotalBanned int
	Banned                                                     []string
}

// Status returns a jail's counters and banned addresses.
func (s *Server) Status(t testing.TB, jail string) JailStatus {
	t.Helper()
	out := s.Client(t, "status", jail)
	var st JailStatus
	for _, line := range strings.Split(out, "\n") {
		_, rest, ok := strings.Cut(line, "- ")
		if !ok {
			continue
		}
		k, v, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		n, _ := strconv.Atoi(v)
		switch strings.TrimSpace(k) {
		case "Currently failed":
			st.CurrentlyFailed = n
		case "Total failed":
			st.TotalFailed = n
		case "Currently banned":
			st.CurrentlyBanned = n
		case "Total banned":
			st.TotalBanned = n
		case "Banned IP list":
			st.Banned = strings.Fields(v)
		}
	}
	return st
}

// stop asks the server to stop and waits for it; a server that does not
// stop within 10 s is killed.
func (s *Server) stop() {
	_ = exec.Command(s.client, "-s", s.sock, "stop").Run()
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	_ = s.cmd.Wait()
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	write(t, to, string(b))
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
