package logging_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/logging"
)

// syncBuffer is a bytes.Buffer safe for the flusher's goroutine.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) read() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

func TestNewBuffered_BatchesInfoLines(t *testing.T) {
	var out syncBuffer
	log, stop := logging.NewBuffered(&out, true, "info")
	defer stop()
	for i := range 100 {
		log.Info("request", "i", i)
	}
	if s, _ := out.read(); s != "" {
		t.Fatalf("info lines were written at once: %q", s)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s, writes := out.read()
		if strings.Count(s, "\n") == 100 {
			if writes != 1 {
				t.Fatalf("100 lines took %d writes, want 1", writes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d of 100 lines written", logging.FlushInterval*50, strings.Count(s, "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNewBuffered_WarnFlushesAtOnceInOrder(t *testing.T) {
	var out syncBuffer
	log, stop := logging.NewBuffered(&out, false, "info")
	defer stop()
	log.Info("first")
	log.With("component", "x").Warn("second")
	s, _ := out.read()
	if i, j := strings.Index(s, "first"), strings.Index(s, "second"); i < 0 || j < i || !strings.Contains(s, "component=x") {
		t.Fatalf("after a warning the log holds %q, want both lines in order", s)
	}
	log.Info("third")
	logging.Flush(log)
	if s, _ := out.read(); !strings.Contains(s, "third") {
		t.Fatalf("Flush left %q", s)
	}
}

func TestNewBuffered_StopFlushes(t *testing.T) {
	var out syncBuffer
	log, stop := logging.NewBuffered(&out, true, "debug")
	log.Debug("last words")
	stop()
	if s, _ := out.read(); !strings.Contains(s, "last words") {
		t.Fatalf("stop left %q", s)
	}
}
