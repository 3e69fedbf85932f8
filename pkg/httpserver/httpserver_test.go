package httpserver_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/httpserver"
)

func newApp(checks []httpserver.Check) *httptestApp {
	app := httpserver.New(httpserver.Options{Name: "t", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AccessLog: true})
	httpserver.MountHealth(app, checks)
	app.Get("/id", func(c *fiberCtx) error { return c.SendString(httpserver.RequestID(c)) })
	return &httptestApp{app}
}

func TestRequestID_KeptOrGenerated(t *testing.T) {
	a := newApp(nil)
	req := httptest.NewRequest(http.MethodGet, "/id", nil)
	req.Header.Set("X-Request-Id", "client-id-123")
	resp := a.do(t, req)
	if got := resp.Header.Get("X-Request-Id"); got != "client-id-123" || resp.body != "client-id-123" {
		t.Fatalf("client id not kept: header %q body %q", got, resp.body)
	}
	for _, bad := range []string{"", strings.Repeat("x", 200), "has space"} {
		req := httptest.NewRequest(http.MethodGet, "/id", nil)
		if bad != "" {
			req.Header.Set("X-Request-Id", bad)
		}
		resp := a.do(t, req)
		got := resp.Header.Get("X-Request-Id")
		if len(got) != 32 || got != resp.body {
			t.Fatalf("%q: want a generated 32-hex id echoed, got header %q body %q", bad, got, resp.body)
		}
	}
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	bad := func(context.Context) error { return errors.New("down") }
	cases := []struct {
		name   string
		checks []httpserver.Check
		status int
		body   string
	}{
		{"all ok", []httpserver.Check{{Name: "database", Required: true, Run: ok}}, 200, "ok"},
		{"optional down is degraded", []httpserver.Check{{Name: "redis", Required: true, Run: ok}, {Name: "database", Run: bad}}, 200, "degraded"},
		{"required down fails", []httpserver.Check{{Name: "database", Required: true, Run: bad}, {Name: "x", Run: ok}}, 503, "fail"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := newApp(c.checks).do(t, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, resp.body)
			}
			var r httpserver.Readiness
			if err := json.Unmarshal([]byte(resp.body), &r); err != nil {
				t.Fatal(err)
			}
			if r.Status != c.body || len(r.Checks) != len(c.checks) {
				t.Fatalf("body %+v", r)
			}
			for _, ch := range c.checks {
				if _, ok := r.Checks[ch.Name]; !ok {
					t.Fatalf("check %s not named in %+v", ch.Name, r)
				}
			}
		})
	}
	resp := newApp(nil).do(t, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if resp.StatusCode != 200 || !strings.Contains(resp.body, `"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, resp.body)
	}
}

func TestReadyz_SlowCheckTimesOut(t *testing.T) {
	slow := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	r, ok := httpserver.Evaluate(context.Background(), []httpserver.Check{{Name: "db", Required: true, Run: slow}}, 50*time.Millisecond)
	if ok || r.Checks["db"].Status != "fail" {
		t.Fatalf("a hung check must fail readiness: %+v", r)
	}
}

func TestServe_GracefulShutdownFinishesInFlight(t *testing.T) {
	app := httpserver.New(httpserver.Options{Name: "t", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	started := make(chan struct{})
	release := make(chan struct{})
	app.Get("/slow", func(c *fiberCtx) error {
		close(started)
		<-release
		return c.SendString("done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	served := make(chan error, 1)
	go func() {
		served <- httpserver.Serve(ctx, app, "127.0.0.1:0", 5*time.Second, func(a net.Addr) { addrc <- a })
	}()
	addr := <-addrc
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + addr.String() + "/slow")
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel() // shutdown begins while the request is in flight
	close(release)
	if body := <-got; body != "done" {
		t.Fatalf("in-flight request lost on shutdown: %s", body)
	}
	if err := <-served; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
