package authlog_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/authlog"
)

// clock is a manual clock for the rotation check.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newClock() *clock { return &clock{now: time.Date(2026, 12, 7, 19, 0, 0, 0, time.UTC)} }

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("%s does not end with a newline: %q", path, s)
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func open(t *testing.T, path string, c *clock) *authlog.Logger {
	t.Helper()
	l, err := authlog.Open(path, authlog.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestOpen_EmptyPathIsOff(t *testing.T) {
	l, err := authlog.Open("", authlog.Options{})
	if err != nil || l != nil {
		t.Fatalf("Open(\"\") = %v, %v; want nil, nil", l, err)
	}
	// A nil Logger is a valid, silent one.
	l.Failure(authlog.KindLogin, "203.0.113.7", "x")
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	authlog.ReopenOnHangup(l, nil)()
}

func TestOpen_Errors(t *testing.T) {
	_, err := authlog.Open(filepath.Join(t.TempDir(), "missing", "auth.log"), authlog.Options{})
	if err == nil || !strings.Contains(err.Error(), "open auth-failure log") {
		t.Fatalf("Open in a missing folder: %v", err)
	}
}

func TestLogger_CreatesPrivateFileAndAppends(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(path, []byte("an earlier line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClock()
	l := open(t, path, c)
	l.Failure(authlog.KindLogin, "203.0.113.7", "a@example.com")
	got := readLines(t, path)
	want := []string{"an earlier line", strings.TrimSuffix(authlog.Line(c.Now(), authlog.KindLogin, "203.0.113.7", "a@example.com"), "\n")}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("file = %q, want %q", got, want)
	}

	fresh := filepath.Join(dir, "fresh.log")
	open(t, fresh, c)
	fi, err := os.Stat(fresh)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("a new log file has mode %v, want 0600", fi.Mode().Perm())
	}
}

// Many goroutines (and two Loggers on one file, as the gateway and
// portal-api share one) write whole lines, none lost or interleaved.
func TestLogger_ConcurrentWritersNeverInterleave(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	c := newClock()
	a, b := open(t, path, c), open(t, path, c)
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := a
			if w%2 == 1 {
				l = b
			}
			for i := range each {
				l.Failure(authlog.KindAPIKey, fmt.Sprintf("198.51.100.%d", w), fmt.Sprintf("sk-%d-%d%s", w, i, strings.Repeat("k", 100)))
			}
		}()
	}
	wg.Wait()
	lines := readLines(t, path)
	if len(lines) != writers*each {
		t.Fatalf("%d lines, want %d", len(lines), writers*each)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		var w, i int
		if _, err := fmt.Sscanf(l[strings.Index(l, "subject=sk-")+len("subject=sk-"):], "%d-%d", &w, &i); err != nil {
			t.Fatalf("broken line %q: %v", l, err)
		}
		if want := strings.TrimSuffix(authlog.Line(c.Now(), authlog.KindAPIKey, fmt.Sprintf("198.51.100.%d", w), fmt.Sprintf("sk-%d-%d%s", w, i, strings.Repeat("k", 100))), "\n"); l != want {
			t.Fatalf("line %q, want %q", l, want)
		}
		seen[l] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct lines, want %d", len(seen), writers*each)
	}
}

// logrotate renames (or removes) the file; within RotationCheck of that,
// the next line goes to a new file at the path, and nothing is lost.
func TestLogger_FollowsRotation(t *testing.T) {
	for _, how := range []string{"rename", "remove"} {
		t.Run(how, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "auth.log")
			c := newClock()
			l := open(t, path, c)
			l.Failure(authlog.KindLogin, "192.0.2.1", "before")
			rotated := path + ".1"
			var err error
			if how == "rename" {
				err = os.Rename(path, rotated)
			} else {
				err = os.Remove(path)
			}
			if err != nil {
				t.Fatal(err)
			}
			// Within the check interval the old file still gets the line
			// (with rename, logrotate's delaycompress keeps it readable).
			l.Failure(authlog.KindLogin, "192.0.2.1", "within")
			c.Advance(time.Second)
			l.Failure(authlog.KindLogin, "192.0.2.1", "after")
			got := readLines(t, path)
			if len(got) != 1 || !strings.HasSuffix(got[0], "subject=after") {
				t.Fatalf("new file: %q", got)
			}
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("new file: %v %v", fi, err)
			}
			if how == "rename" {
				old := readLines(t, rotated)
				if len(old) != 2 || !strings.HasSuffix(old[0], "subject=before") || !strings.HasSuffix(old[1], "subject=within") {
					t.Fatalf("rotated file: %q", old)
				}
			}
		})
	}
}

func TestLogger_ReopenOnHangup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.log")
	c := newClock()
	l := open(t, path, c)
	reopened := make(chan struct{}, 1)
	authlog.SetAfterHangup(t, func() { reopened <- struct{}{} })
	stop := authlog.ReopenOnHangup(l, nil)
	defer stop()
	l.Failure(authlog.KindLogin, "192.0.2.1", "before")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reopened:
	case <-time.After(5 * time.Second):
		t.Fatal("no reopen within 5 s of a SIGHUP")
	}
	// The clock did not move, so only the reopen created the new file.
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no new file after the SIGHUP: %v", err)
	}
	l.Failure(authlog.KindLogin, "192.0.2.1", "after")
	if got := readLines(t, path); len(got) != 1 || !strings.HasSuffix(got[0], "subject=after") {
		t.Fatalf("new file: %q", got)
	}
}

func TestLogger_CloseStopsWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.log")
	c := newClock()
	l := open(t, path, c)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	c.Advance(time.Hour)
	l.Failure(authlog.KindLogin, "192.0.2.1", "x")
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, path); len(got) != 0 {
		t.Fatalf("closed logger wrote %q", got)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
