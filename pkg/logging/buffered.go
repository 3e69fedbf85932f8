package logging

import (
	"context"
	"io"
	"log/slog"
	"time"

	"go.uber.org/zap/zapcore"
)

// Buffering of NewBuffered.
const (
	// BufferSize is flushed as soon as it fills.
	BufferSize = 64 << 10
	// FlushInterval bounds how long an info line waits in the buffer.
	FlushInterval = 100 * time.Millisecond
)

// NewBuffered is New with its output buffered: lines are written in
// batches of up to BufferSize, at the latest FlushInterval after they were
// logged, and at once from a record at warn or above (the lines before it
// included). The gateway logs a line per request: unbuffered, that is one
// write system call per request on its hot path, each a wake-up of the
// log's reader too. stop flushes and stops the flusher; call it before the
// process exits. A crash loses at most FlushInterval of info lines.
func NewBuffered(w io.Writer, production bool, level string) (log *slog.Logger, stop func()) {
	ws := &zapcore.BufferedWriteSyncer{WS: zapcore.AddSync(w), Size: BufferSize, FlushInterval: FlushInterval}
	inner := New(ws, production, level).Handler()
	return slog.New(flushing{Handler: inner, ws: ws}), func() { _ = ws.Stop() }
}

// flushing writes out the buffer after a record at warn or above, so that
// problems reach the log at once and in order.
type flushing struct {
	slog.Handler
	ws *zapcore.BufferedWriteSyncer
}

func (h flushing) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		_ = h.ws.Sync()
	}
	return err
}

func (h flushing) WithAttrs(as []slog.Attr) slog.Handler {
	return flushing{Handler: h.Handler.WithAttrs(as), ws: h.ws}
}

func (h flushing) WithGroup(name string) slog.Handler {
	return flushing{Handler: h.Handler.WithGroup(name), ws: h.ws}
}

// Flush writes out what log has buffered, when it came from NewBuffered
// (for lines another process waits for, such as "ready").
func Flush(log *slog.Logger) {
	if h, ok := log.Handler().(flushing); ok {
		_ = h.ws.Sync()
	}
}
