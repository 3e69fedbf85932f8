// Package relay moves an upstream's answer to the client: it reads SSE
// events from the upstream and writes each one as it arrives, flushing it
// to the client unless the next event is already waiting (Stream: a burst
// goes out in one flush, nothing waits behind a quiet upstream), keeps an
// idle client connection alive, notices a client that left (a failed write
// or flush) and cancels the upstream, and counts what was generated so the
// request is billed for exactly that (invariant 6, docs/architecture.md
// "The invariants, and the test that holds each").
package relay

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"sync"
)

// Events reads one SSE `data:` payload at a time from an upstream body.
type Events struct {
	r *bufio.Reader
}

// readers recycles the read buffers: one per stream would be an allocation
// of readSize per request. A line longer than the buffer still reads (Next
// joins the pieces).
var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readSize) }}

const readSize = 32 << 10

// NewEvents wraps an upstream SSE body. Release gives its buffer back.
func NewEvents(body io.Reader) *Events {
	r := readers.Get().(*bufio.Reader)
	r.Reset(body)
	return &Events{r: r}
}

// Release returns the read buffer for reuse; e must not be used after, nor
// any slice Next returned. Releasing twice is harmless.
func (e *Events) Release() {
	if e.r != nil {
		e.r.Reset(nil)
		readers.Put(e.r)
		e.r = nil
	}
}

var dataPrefix = []byte("data:")

// ErrEventTooLong guards memory against an upstream that never ends a line.
var ErrEventTooLong = errors.New("relay: upstream event longer than 8 MiB")

const maxEvent = 8 << 20

// Next returns the next data payload (without "data:" and surrounding
// space). Comments, event names and blank lines are skipped. The slice is
// valid until the next call.
func (e *Events) Next() ([]byte, error) {
	var long []byte
	for {
		line, err := e.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			if len(long) > maxEvent {
				return nil, ErrEventTooLong
			}
			continue
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		if len(line) > 0 && bytes.HasPrefix(line, dataPrefix) {
			return bytes.TrimSpace(line[len(dataPrefix):]), nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, err
		}
	}
}

// IsJSON reports whether an upstream answer to a streaming request is a
// JSON document instead of an SSE stream: its Content-Type says
// application/json, or, when it says neither that nor text/event-stream,
// its first byte that is not white space opens an object or an array. It
// reads nothing that Next would not (it peeks).
func IsJSON(contentType string, e *Events) bool {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "text/event-stream":
		return false
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		return true
	}
	for i := 1; i <= readSize; i++ {
		b, _ := e.r.Peek(i)
		if len(b) < i {
			return false
		}
		switch b[i-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}
