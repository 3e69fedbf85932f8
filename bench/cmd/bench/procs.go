package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one program the orchestrator started; only these are ever
// signalled, by their own pid.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
	err  error
}

// startProc runs bin with args and env, its output in logPath. When
// listenLine is true it waits for the program's "listening <addr>" line on
// stdout and returns the address.
func startProc(name, bin string, args, env []string, logPath string, listenLine bool) (*proc, string, error) {
	f, err := os.Create(logPath)
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stderr = f
	var stdout io.ReadCloser
	if listenLine {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			f.Close()
			return nil, "", err
		}
	} else {
		cmd.Stdout = f
	}
	// Own process group: a Ctrl-C of make reaches the orchestrator, which
	// stops its children in order instead of the terminal killing them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, "", fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: f, done: make(chan struct{})}
	addrc := make(chan string, 1)
	if listenLine {
		go func() {
			sc := bufio.NewScanner(stdout)
			sent := false
			for sc.Scan() {
				line := sc.Text()
				fmt.Fprintln(f, line)
				if a, ok := strings.CutPrefix(line, "listening "); ok && !sent {
					addrc <- strings.TrimSpace(a)
					sent = true
				}
			}
		}()
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	if !listenLine {
		return p, "", nil
	}
	select {
	case a := <-addrc:
		return p, a, nil
	case <-p.done:
		return nil, "", fmt.Errorf("%s exited before listening: %v (log %s)", name, p.err, logPath)
	case <-time.After(30 * time.Second):
		p.stop(5 * time.Second)
		return nil, "", fmt.Errorf("%s did not report its address within 30s (log %s)", name, logPath)
	}
}

// stop sends SIGTERM, waits up to grace, then SIGKILL; it returns the
// program's exit error (nil for a clean exit).
func (p *proc) stop(grace time.Duration) error {
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.done
			p.err = fmt.Errorf("killed after %s without exiting", grace)
		}
	}
	p.log.Close()
	return p.err
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// memory reads VmHWM (peak resident set) and VmRSS of the process, in KiB.
func (p *proc) memory() (hwm, rss int64, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid()) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			hwm = v
		case "VmRSS:":
			rss = v
		}
	}
	if hwm == 0 {
		return 0, 0, errors.New("no VmHWM in /proc status")
	}
	return hwm, rss, nil
}

// freeAddr returns a loopback address with a port nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitReady polls url until it answers 200, the process dies or timeout.
func waitReady(ctx context.Context, p *proc, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v (log %s)", p.name, p.err, p.log.Name())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(url)
		if err == nil {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Sprintf("status %d: %s", resp.StatusCode, b)
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after %s: %s (log %s)", p.name, timeout, last, p.log.Name())
}

// env returns os.Environ() without the named variables, plus extra.
func env(drop []string, extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		skip := strings.HasPrefix(k, "RESAYIL_") && k != "RESAYIL_TEST_REDIS_URL" && k != "RESAYIL_TEST_MARIADB_DSN"
		for _, d := range drop {
			if k == d {
				skip = true
			}
		}
		if !skip {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}
