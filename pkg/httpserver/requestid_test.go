package httpserver_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/testenv"
)

// serve runs app on a loopback listener until the test ends: fasthttp's
// own refusals close the connection, which app.Test reports as an error.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- httpserver.Serve(ctx, app, "127.0.0.1:0", 5*time.Second, func(a net.Addr) { addrc <- a })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	select {
	case a := <-addrc:
		return "http://" + a.String()
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	return ""
}

func ownApp() *httptestApp {
	app := httpserver.New(httpserver.Options{Name: "t", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AccessLog: true, OwnRequestID: true})
	app.Get("/id", func(c *fiberCtx) error { return c.SendString(httpserver.RequestID(c)) })
	return &httptestApp{app}
}

// With OwnRequestID every answer's id is one the server made, whatever
// the client sent, and it is the id handlers see.
func TestRequestID_OwnIgnoresTheClients(t *testing.T) {
	a := ownApp()
	seen := map[string]bool{}
	for _, sent := range []string{"client-id-123", "", "has space"} {
		req := httptest.NewRequest(http.MethodGet, "/id", nil)
		if sent != "" {
			req.Header.Set("X-Request-Id", sent)
		}
		resp := a.do(t, req)
		got := resp.Header.Get("X-Request-Id")
		if len(got) != 32 || got != resp.body || got == sent || seen[got] {
			t.Fatalf("sent %q: want a new 32-hex id, the handler's, got header %q body %q", sent, got, resp.body)
		}
		seen[got] = true
	}
	// Unknown routes are answered by the error handler after the middleware.
	req := httptest.NewRequest(http.MethodGet, "/nothing", nil)
	req.Header.Set("X-Request-Id", "client-id-123")
	resp := a.do(t, req)
	if got := resp.Header.Get("X-Request-Id"); resp.StatusCode != 404 || len(got) != 32 {
		t.Fatalf("404: status %d id %q", resp.StatusCode, got)
	}
}

// A body over the limit is refused by fasthttp itself, before any
// middleware runs: the answer still has the server's id, and the access log
// a line with that id.
func TestRequestID_OnErrorsFasthttpRaises(t *testing.T) {
	for _, own := range []bool{true, false} {
		var log testenv.Buffer
		app := httpserver.New(httpserver.Options{Name: "t", Logger: slog.New(slog.NewTextHandler(&log, nil)), AccessLog: true,
			OwnRequestID: own, BodyLimit: 1024})
		app.Post("/echo", func(c *fiberCtx) error { return c.Send(c.Body()) })
		base := serve(t, app)
		req, _ := http.NewRequest(http.MethodPost, base+"/echo", strings.NewReader(strings.Repeat("x", 4096)))
		req.Header.Set("X-Request-Id", "client-id-123")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("X-Request-Id")
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("own=%v: status %d, want 413", own, resp.StatusCode)
		}
		want := got
		if own {
			if len(got) != 32 || got == "client-id-123" {
				t.Fatalf("own: 413 carries id %q, want the server's own", got)
			}
		} else if got != "client-id-123" {
			t.Fatalf("not own: 413 carries id %q, want the client's kept", got)
		}
		if l := log.String(); !strings.Contains(l, "request_id="+want) || !strings.Contains(l, "status=413") {
			t.Fatalf("own=%v: no access line for the 413 with its id %q:\n%s", own, want, l)
		}
	}
}
