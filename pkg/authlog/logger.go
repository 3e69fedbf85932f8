package authlog

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// Options tune a Logger. Zero fields take the defaults named.
type Options struct {
	// Now stamps the lines (default time.Now). fail2ban counts only lines
	// within its findtime of its own clock, so production keeps the wall
	// clock.
	Now func() time.Time
	// RotationCheck is how often, at most, a write first checks whether
	// the path still names the open file (default 1 s): after logrotate
	// renames or removes it, the next line goes to a new file at the path.
	RotationCheck time.Duration
	// Logger reports write failures (default: discarded); at most one a
	// minute, so a full disk under a flood of failures does not become a
	// flood of log lines.
	Logger *slog.Logger
}

// Logger appends failure lines to one file. It is safe for concurrent use:
// each line is one write(2) to a file opened O_APPEND, under a mutex, so
// lines never interleave, and several processes (the gateway and
// portal-api) may append to the same file.
//
// A nil *Logger logs nothing: Failure, Reopen and Close are no-ops on it,
// so a service with RESAYIL_AUTH_FAILURE_LOG empty passes nil around.
type Logger struct {
	path string
	opts Options

	mu        sync.Mutex
	f         *os.File
	closed    bool
	checkedAt time.Time
	errorAt   time.Time
}

// Open opens (creating it 0600 if need be) the file at path for appending.
// An empty path means no log: Open returns a nil *Logger and no error.
func Open(path string, opts Options) (*Logger, error) {
	if path == "" {
		return nil, nil
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RotationCheck <= 0 {
		opts.RotationCheck = time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	return &Logger{path: path, opts: opts, f: f, checkedAt: opts.Now()}, nil
}

// openFile opens path for appending, readable by its owner only: the lines
// name who was tried (e-mails), so the file is no one else's business.
func openFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open auth-failure log: %w", err)
	}
	return f, nil
}

// Path returns the file's path ("" for a nil Logger).
func (l *Logger) Path() string {
	if l == nil {
		return ""
	}
	return l.path
}

// Failure records that an authentication of kind from clientIP failed;
// subject says who or what was tried (see Kind). It never fails the
// caller: a write error is reported through Options.Logger and the line is
// lost.
func (l *Logger) Failure(kind Kind, clientIP, subject string) {
	if l == nil {
		return
	}
	now := l.opts.Now()
	line := Line(now, kind, clientIP, subject)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	if now.Sub(l.checkedAt) >= l.opts.RotationCheck || now.Before(l.checkedAt) {
		l.checkedAt = now
		if err := l.followRotation(); err != nil {
			l.report(now, err)
		}
	}
	if _, err := l.f.WriteString(line); err != nil {
		l.report(now, fmt.Errorf("write auth-failure log: %w", err))
	}
}

// followRotation reopens the path when it no longer names the open file
// (renamed or removed by logrotate). With l.mu held.
func (l *Logger) followRotation() error {
	onDisk, err := os.Stat(l.path)
	if err == nil {
		if open, err := l.f.Stat(); err == nil && os.SameFile(onDisk, open) {
			return nil
		}
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("stat auth-failure log: %w", err)
	}
	return l.reopen()
}

// reopen replaces the open file with the one at the path. With l.mu held.
// If the path cannot be opened the old file is kept (lines still go
// somewhere an operator can find them) and the error returned.
func (l *Logger) reopen() error {
	f, err := openFile(l.path)
	if err != nil {
		return err
	}
	_ = l.f.Close()
	l.f = f
	return nil
}

func (l *Logger) report(now time.Time, err error) {
	if !l.errorAt.IsZero() && now.Sub(l.errorAt) < time.Minute {
		return
	}
	l.errorAt = now
	l.opts.Logger.Error("auth-failure log", "path", l.path, "err", err)
}

// Reopen closes the file and opens the path again, the way a program
// follows logrotate on SIGHUP (ReopenOnHangup).
func (l *Logger) Reopen() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.checkedAt = l.opts.Now()
	return l.reopen()
}

// Close closes the file; later failures are not written.
func (l *Logger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.f.Close()
}

// afterHangup runs after each SIGHUP's reopen; tests replace it to know
// when one happened.
var afterHangup = func() {}

// ReopenOnHangup reopens l on every SIGHUP until stop is called; a failed
// reopen is logged and the old file kept. Both services already re-read
// the model catalog on SIGHUP: one signal does both.
func ReopenOnHangup(l *Logger, log *slog.Logger) (stop func()) {
	if l == nil {
		return func() {}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-hup:
				if err := l.Reopen(); err != nil {
					log.Error("auth-failure log reopen failed; writing to the old file", "path", l.Path(), "err", err)
				}
				afterHangup()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
	}
}
