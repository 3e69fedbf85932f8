// Package httpserver holds what both Fiber servers share: the base app with
// request ids, access logs and panic recovery; liveness and readiness
// endpoints; and running until a signal with a bounded graceful shutdown.
package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// localsRequestID is the fiber.Ctx Locals key of the request id.
const localsRequestID = "request_id"

// Options configure New.
type Options struct {
	Name   string
	Logger *slog.Logger
	// BodyLimit in bytes (Fiber's default is 4 MiB).
	BodyLimit int
	// ErrorHandler renders errors in the service's own shape.
	ErrorHandler fiber.ErrorHandler
	// AccessLog writes one line per request.
	AccessLog bool
	// OwnRequestID makes every answer's X-Request-Id an id this server
	// made (NewID), never the client's: the gateway's ids are its billing
	// ids, so a client must not choose them. Without it a sane client
	// X-Request-Id is kept and echoed (the portal: the SPA traces its own).
	OwnRequestID bool
	// ReadTimeout bounds reading a request; 0 means 30 s. There is no write
	// timeout: fasthttp would apply it to a whole streamed body.
	ReadTimeout time.Duration
	IdleTimeout time.Duration
}

// New returns a Fiber app with request ids, recovery and (optionally) access logs.
func New(o Options) *fiber.App {
	if o.ReadTimeout == 0 {
		o.ReadTimeout = 30 * time.Second
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = 120 * time.Second
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = fiber.DefaultErrorHandler
	}
	ids := requestIDs{own: o.OwnRequestID}
	app := fiber.New(fiber.Config{
		AppName:               o.Name,
		DisableStartupMessage: true,
		BodyLimit:             o.BodyLimit,
		ErrorHandler:          ids.errorHandler(o.ErrorHandler, o.Logger, o.AccessLog),
		ReadTimeout:           o.ReadTimeout,
		IdleTimeout:           o.IdleTimeout,
	})
	app.Use(recover.New(recover.Config{EnableStackTrace: true, StackTraceHandler: func(c *fiber.Ctx, e any) {
		o.Logger.Error("panic", "request_id", RequestID(c), "panic", e)
	}}))
	app.Use(ids.middleware)
	if o.AccessLog {
		app.Use(accessLog(o.Logger))
	}
	return app
}

// requestIDs gives every answer an X-Request-Id.
type requestIDs struct{ own bool }

// assign stores the request id of c in Locals and sets it on the answer:
// a new id, or with own unset a sane client X-Request-Id.
func (r requestIDs) assign(c *fiber.Ctx) {
	id := ""
	if !r.own {
		id = c.Get(RequestIDHeader)
	}
	if !validID(id) {
		id = NewID()
	} else {
		id = string([]byte(id)) // copy: fasthttp reuses header buffers
	}
	c.Locals(localsRequestID, id)
	c.Set(RequestIDHeader, id)
}

// middleware runs before every route, ahead of any parsing or
// authentication.
func (r requestIDs) middleware(c *fiber.Ctx) error {
	r.assign(c)
	return c.Next()
}

// errorHandler wraps the service's error handler. fasthttp answers some
// requests before any middleware runs (a body over the limit: 413; headers
// too large: 431; a read timeout: 408; a malformed request: 400) and calls
// the error handler alone: those answers get their request id, and their
// access-log line, here.
func (r requestIDs) errorHandler(h fiber.ErrorHandler, l *slog.Logger, accessLog bool) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		if RequestID(c) != "" {
			return h(c, err)
		}
		start := time.Now()
		r.assign(c)
		herr := h(c, err)
		if accessLog {
			logRequest(l, c, start)
		}
		return herr
	}
}

func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// NewID returns a 128-bit id in hex: the time in Unix milliseconds (48
// bits), then 80 random bits. Ids made later sort later, so the gateway's
// billing ids land at the end of usage_records' unique index instead of
// anywhere in it (an insert then touches the pages it touched last; with
// random ids, MariaDB spent about a fifth more per row, measured), and a
// support request's id tells when it was made. 80 random bits keep ids of
// the same millisecond apart.
func NewID() string { return newID(time.Now()) }

func newID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	_, _ = rand.Read(b[6:])
	return hex.EncodeToString(b[:])
}

// RequestID returns the request id of c.
func RequestID(c *fiber.Ctx) string {
	s, _ := c.Locals(localsRequestID).(string)
	return s
}

// accessLog writes one line per request at info. It runs on every API
// call, so it is built from typed attributes (LogAttrs: no boxing of
// key-value pairs into interfaces, no attribute slice to grow) and skipped
// entirely, before anything is formatted, when info is not enabled.
func accessLog(l *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				_ = c.SendStatus(fiber.StatusInternalServerError)
			}
		}
		logRequest(l, c, start)
		return nil
	}
}

// logRequest writes the access line of c.
func logRequest(l *slog.Logger, c *fiber.Ctx, start time.Time) {
	if l == nil {
		return
	}
	ctx := context.Background()
	h := l.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	// A record without a program counter: Logger.LogAttrs would walk
	// the stack (runtime.Callers) on every request for a source
	// position the access line never shows.
	r := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
	r.AddAttrs(
		slog.String("request_id", RequestID(c)),
		slog.String("method", c.Method()),
		slog.String("path", c.Path()),
		slog.Int("status", c.Response().StatusCode()),
		slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
		slog.String("ip", c.IP()),
	)
	_ = h.Handle(ctx, r)
}

// Serve listens on addr and serves app until ctx is cancelled, then shuts
// down within timeout. ready, when not nil, receives the bound address.
func Serve(ctx context.Context, app *fiber.App, addr string, timeout time.Duration, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ServeListener(ctx, app, ln, timeout, ready)
}

// ServeListener is Serve on an existing listener.
func ServeListener(ctx context.Context, app *fiber.App, ln net.Listener, timeout time.Duration, ready func(net.Addr)) error {
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	if ready != nil {
		ready(ln.Addr())
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := app.ShutdownWithTimeout(timeout); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
