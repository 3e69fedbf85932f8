// Package logging builds the slog logger both binaries use: JSON in
// production (one object per line for log shippers), text in development.
// The logger is passed to constructors; nothing here is global.
package logging

import (
	"io"
	"log/slog"
	"strings"
)

// New returns a logger writing to w.
func New(w io.Writer, production bool, level string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: ParseLevel(level)}
	var h slog.Handler
	if production {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(h)
}

// ParseLevel maps debug|info|warn|error to a slog level (info otherwise).
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
