package relay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/resayil/portal/gateway/internal/chat"
)

// Outcome says how a relayed answer ended.
type Outcome string

// Outcomes, stored as the usage record's status.
const (
	OK            Outcome = "ok"
	ClientClosed  Outcome = "client_closed"
	UpstreamError Outcome = "upstream_error"
	IdleTimeout   Outcome = "upstream_timeout"
	Shutdown      Outcome = "shutdown"
	// WrongShape: the upstream answered a stream to a non-streaming request,
	// or a whole answer to a streaming one; billed at the hold.
	WrongShape Outcome = "upstream_wrong_shape"
)

// Result is what a relay counted.
type Result struct {
	Outcome Outcome
	// Usage is the upstream's own count, when it sent one.
	Usage     chat.Usage
	HaveUsage bool
	// Generated counts streamed content deltas: the completion-token
	// fallback when no usage arrived (a disconnect, a failure).
	Generated int64
}

// StreamOptions configure Stream.
type StreamOptions struct {
	// IncludeUsage is whether the client asked for the usage chunk; the
	// gateway always asks upstream for it and strips it otherwise.
	IncludeUsage bool
	// PublicModel replaces BackendModel in each chunk when they differ.
	PublicModel, BackendModel string
	// Idle ends the stream after this much upstream silence.
	Idle time.Duration
	// KeepAlive is the interval of `: keep-alive` comments during upstream
	// silence; they also reveal a client that left.
	KeepAlive time.Duration
	// Cancel aborts the upstream request.
	Cancel context.CancelFunc
	// Done, when closed, ends the stream (gateway shutdown past its grace).
	Done <-chan struct{}
}

type event struct {
	data []byte
	err  error
}

var (
	doneLine      = []byte("data: [DONE]\n\n")
	keepAliveLine = []byte(": keep-alive\n\n")
)

// Stream relays an SSE answer whose first payload the caller already read
// (before committing to a 200, so that it could still fail over). It
// returns when the upstream ends, fails or goes idle, or the client leaves;
// the upstream is cancelled in every case but a clean end. Stream owns ev
// from then on and releases it once its reader is done.
//
// Each event is written as it arrives; the flush (a write to the client
// socket) is skipped only while the next event is already waiting, so a
// burst from the upstream goes out in one write and nothing is held back.
func Stream(w *bufio.Writer, first []byte, ev *Events, o StreamOptions) Result {
	var res Result
	evs := make(chan event, 32)
	go func() {
		defer ev.Release()
		for {
			d, err := ev.Next()
			if err != nil {
				evs <- event{err: err}
				close(evs)
				return
			}
			evs <- event{data: bytes.Clone(d)}
		}
	}()
	defer func() {
		if res.Outcome != OK {
			o.Cancel()
		}
		// Let the reader goroutine end: cancelling the upstream closes its body.
		go func() {
			for range evs {
			}
		}()
	}()

	rename := o.PublicModel != "" && o.BackendModel != "" && o.PublicModel != o.BackendModel
	var from, to []byte
	if rename {
		from, _ = json.Marshal(o.BackendModel)
		to, _ = json.Marshal(o.PublicModel)
		from = append([]byte(`"model":`), from...)
		to = append([]byte(`"model":`), to...)
	}
	firstWrite := true
	// flush sends what is buffered unless the next event is waiting
	// already (it flushes both); the first event always goes at once.
	flush := func() bool {
		if w.Buffered() == 0 || (len(evs) > 0 && !firstWrite) {
			return true
		}
		return w.Flush() == nil
	}
	// write sends one payload; false means the client is gone.
	write := func(data []byte) (bool, bool) {
		if bytes.Equal(data, []byte("[DONE]")) {
			_, err := w.Write(doneLine)
			return err == nil && w.Flush() == nil, true
		}
		c := chat.ParseChunk(data)
		res.Generated += c.Generated
		if c.Usage != nil {
			res.Usage, res.HaveUsage = *c.Usage, true
		}
		if c.Error {
			res.Outcome = UpstreamError
			writeData(w, data)
			_ = w.Flush()
			return false, true
		}
		if c.UsageOnly && !o.IncludeUsage {
			return flush(), false
		}
		if i := -1; rename {
			if i = bytes.Index(data, from); i >= 0 {
				// Written in three pieces: no copy of the event.
				if !writeData(w, data[:i], to, data[i+len(from):]) {
					return false, false
				}
				return flush(), false
			}
		}
		if !writeData(w, data) {
			return false, false
		}
		return flush(), false
	}

	ok, end := write(first)
	firstWrite = false
	if !ok && res.Outcome == "" {
		res.Outcome = ClientClosed
	}
	if end || !ok {
		if res.Outcome == "" {
			res.Outcome = OK
		}
		return res
	}
	idle := time.NewTimer(o.Idle)
	defer idle.Stop()
	ka := time.NewTicker(o.KeepAlive)
	defer ka.Stop()
	last := time.Now()
	lastEvent := last
	for {
		select {
		case e, open := <-evs:
			if !open || e.err != nil {
				if closed(o.Done) {
					// The drain cancels the upstream right after closing
					// Done: its read failing is the shutdown, whichever of
					// the two this select saw first.
					return shutdown(w, res)
				}
				// The stream ended without [DONE]: that is how Ollama's
				// OpenAI-compatible endpoint fails mid-stream, so it is an
				// upstream error, never a clean end.
				res.Outcome = UpstreamError
				writeError(w, "The model stopped answering before finishing. Please retry.", "upstream_error")
				return res
			}
			// The idle timer is not reset per event: when it fires it
			// checks the time since the last one.
			last = time.Now()
			lastEvent = last
			ok, end := write(e.data)
			if !ok && res.Outcome == "" {
				res.Outcome = ClientClosed
			}
			if end || !ok {
				if res.Outcome == "" {
					res.Outcome = OK
				}
				return res
			}
		case <-ka.C:
			if time.Since(last) < o.KeepAlive {
				continue
			}
			if _, err := w.Write(keepAliveLine); err != nil || w.Flush() != nil {
				res.Outcome = ClientClosed
				return res
			}
			last = time.Now()
		case <-idle.C:
			if since := time.Since(lastEvent); since < o.Idle {
				idle.Reset(o.Idle - since)
				continue
			}
			res.Outcome = IdleTimeout
			writeError(w, "The model stopped sending data. Please retry.", "upstream_timeout")
			return res
		case <-o.Done:
			return shutdown(w, res)
		}
	}
}

func shutdown(w *bufio.Writer, res Result) Result {
	res.Outcome = Shutdown
	writeError(w, "The gateway is restarting. Please retry.", "server_shutdown")
	return res
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// writeData writes one `data:` event whose payload is the concatenation
// of parts.
func writeData(w io.Writer, parts ...[]byte) bool {
	if _, err := w.Write([]byte("data: ")); err != nil {
		return false
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return false
		}
	}
	_, err := w.Write([]byte("\n\n"))
	return err == nil
}

// writeError ends a started stream the way every OpenAI SDK recognises: a
// data event with a top-level "error" key, and no [DONE] after it.
func writeError(w *bufio.Writer, msg, code string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "server_error", "param": nil, "code": code}})
	writeData(w, b)
	_ = w.Flush()
}
