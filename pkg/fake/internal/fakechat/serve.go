package fakechat

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// maxBody bounds a request body; real servers accept far more, tests never need it.
const maxBody = 32 << 20

// Chat is a decoded chat request.
type Chat struct {
	Model        string
	Messages     []Message
	Stream       bool
	IncludeUsage bool
	MaxTokens    int // the cap the server honours; 0 means none
}

// Failure is an error answered before the first byte of a response.
type Failure struct {
	Status  int
	Message string
	Param   string // OpenAI's "param"; "" is null
	Code    string // OpenAI's "code"; "" lets the protocol choose
}

// Texts are a server's error messages.
type Texts struct {
	NotFound      func(model string) string // chat for a model that is not installed
	ModelNotFound func(model string) string // GET /v1/models/{model}
	NoChat        func(model string) string // chat for an embedding model
	Busy          string                    // queue full
	MidStream     string                    // generation failed
	Injected      func(status int) string   // FailNext's default message
}

// Protocol is one chat endpoint's wire format.
type Protocol interface {
	// Authorize checks credentials; nil means the request may go on.
	Authorize(r *http.Request) *Failure
	// Decode parses a request body.
	Decode(body []byte) (Chat, *Failure)
	// Texts returns the server's error messages.
	Texts() *Texts
	// Fail writes an error response; nothing has been written yet.
	Fail(w http.ResponseWriter, f Failure)
	// Respond writes the reply. It returns ErrMidStream after writing the
	// protocol's failure tail when g.FailAfter is reached, or the error of
	// out when the client went away.
	Respond(out *Output, g *Generation) error
}

// ErrMidStream is what Respond returns after an injected mid-stream failure.
var ErrMidStream = errors.New("fake: injected mid-stream failure")

// Generation is what one request produces.
type Generation struct {
	Seq          int       // the request's number, from 1
	Model        string    // as requested
	Created      time.Time // when generation started
	Start        time.Time // when the request arrived
	PromptTokens int
	Pieces       []string // content chunks; one completion token each
	FinishReason string   // "stop" or "length"
	Stream       bool
	IncludeUsage bool
	FailAfter    int  // pieces to write before an injected failure; -1 for none
	NoUsage      bool // a completion leaves out its usage (OmitUsage)
}

// ID is the completion id, "chatcmpl-<n>" as Ollama numbers them.
func (g *Generation) ID() string { return fmt.Sprintf("chatcmpl-%d", g.Seq) }

// Content is the full reply text.
func (g *Generation) Content() string { return strings.Join(g.Pieces, "") }

// CompletionTokens is the number of completion tokens.
func (g *Generation) CompletionTokens() int { return len(g.Pieces) }

// ServeChat runs one chat request through the fake: record and count it,
// check credentials, apply an injected failure, decode, find the model, wait
// for a parallel slot, hold (pause, latency), then let p write the reply.
// An injected failure is used up by the next authorized chat request,
// whatever follows.
func ServeChat(c *Controls, w http.ResponseWriter, r *http.Request, p Protocol) {
	start := time.Now()
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	seq := c.arrive(r, body)
	defer c.update(func(s *Stats) { s.InFlight-- })

	if f := p.Authorize(r); f != nil {
		c.update(func(s *Stats) { s.Unauthorized++ })
		p.Fail(w, *f)
		return
	}
	texts := p.Texts()
	flt := c.nextFault()
	switch flt.kind {
	case faultDrop:
		abort(w)
		return
	case faultStatus:
		msg := flt.message
		if msg == "" {
			msg = texts.Injected(flt.status)
		}
		p.Fail(w, Failure{Status: flt.status, Message: msg})
		return
	}
	chat, f := p.Decode(body)
	if f != nil {
		p.Fail(w, *f)
		return
	}
	c.mu.Lock()
	model, ok := c.models.find(chat.Model)
	tokens, delay := c.tokens, c.chunkDelay
	c.mu.Unlock()
	switch {
	case !ok:
		p.Fail(w, Failure{Status: http.StatusNotFound, Message: texts.NotFound(chat.Model)})
		return
	case !model.Chat:
		p.Fail(w, Failure{Status: http.StatusBadRequest, Message: texts.NoChat(chat.Model)})
		return
	}

	ctx := r.Context()
	release, err := c.admit(ctx)
	switch {
	case errors.Is(err, errBusy):
		p.Fail(w, Failure{Status: http.StatusServiceUnavailable, Message: texts.Busy})
		return
	case err != nil:
		c.stopped(err)
		p.Fail(w, Failure{Status: 499, Message: "request canceled"})
		return
	}
	defer release()
	if err := c.hold(ctx); err != nil {
		c.stopped(err)
		return
	}

	words, finish := plan(chat.Messages, tokens, chat.MaxTokens)
	g := &Generation{
		Seq: seq, Model: chat.Model, Created: time.Now(), Start: start,
		PromptTokens: PromptTokens(chat.Messages), Pieces: pieces(words), FinishReason: finish,
		Stream: chat.Stream, IncludeUsage: chat.IncludeUsage, FailAfter: -1,
	}
	switch flt.kind {
	case faultOtherShape:
		g.Stream = !g.Stream
		g.IncludeUsage = g.Stream
	case faultNoUsage:
		g.NoUsage, g.IncludeUsage = true, false
	}
	if flt.kind == faultMidStream {
		if !chat.Stream || flt.after == 0 {
			p.Fail(w, Failure{Status: http.StatusInternalServerError, Message: texts.MidStream})
			return
		}
		g.FailAfter = min(flt.after, len(g.Pieces))
	}
	out := &Output{w: w, rc: http.NewResponseController(w), r: r, c: c, delay: delay}
	switch err := p.Respond(out, g); {
	case err == nil:
		c.update(func(s *Stats) { s.Completed++ })
	case errors.Is(err, ErrMidStream):
	default:
		c.stopped(err)
	}
}

// arrive records and counts a chat request and returns its number.
func (c *Controls) arrive(r *http.Request, body []byte) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stats.Requests++
	c.stats.InFlight++
	c.stats.MaxInFlight = max(c.stats.MaxInFlight, c.stats.InFlight)
	c.last = Received{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	c.notify()
	return c.stats.Requests
}

// stopped counts a request that ended because its client went away.
func (c *Controls) stopped(err error) {
	if errors.Is(err, errGone) {
		c.update(func(s *Stats) { s.Cancelled++ })
	}
}

// abort closes the connection without a response.
func abort(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}

// Output writes a reply, flushing every event and noticing a client that
// went away, either by a failed write or by the request context ending.
type Output struct {
	w     http.ResponseWriter
	rc    *http.ResponseController
	r     *http.Request
	c     *Controls
	delay time.Duration
}

// Header is the response header.
func (o *Output) Header() http.Header { return o.w.Header() }

// Send writes one event and flushes it. It refuses when the client has gone.
func (o *Output) Send(p []byte) error {
	if o.r.Context().Err() != nil {
		return o.c.gone()
	}
	if _, err := o.w.Write(p); err != nil {
		return o.c.gone()
	}
	if err := o.rc.Flush(); err != nil {
		return o.c.gone()
	}
	return nil
}

// JSON writes a complete non-streaming JSON response with status 200,
// encoded with a trailing newline like Go's json.Encoder (gin and Ollama use it).
func (o *Output) JSON(contentType string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	o.Header().Set("Content-Type", contentType)
	return o.Send(append(b, '\n'))
}

// Pace waits the chunk delay.
func (o *Output) Pace() error { return o.c.sleep(o.r.Context(), o.delay) }

// Pieces writes g's pieces through encode, one event each, with the chunk
// delay between events and before whatever follows the last piece. It
// returns ErrMidStream when g.FailAfter pieces have been written.
func (o *Output) Pieces(g *Generation, encode func(piece string) []byte) error {
	for i, p := range g.Pieces {
		if i == g.FailAfter {
			return ErrMidStream
		}
		if i > 0 {
			if err := o.Pace(); err != nil {
				return err
			}
		}
		if err := o.Send(encode(p)); err != nil {
			return err
		}
		o.c.update(func(s *Stats) { s.TokensEmitted++ })
	}
	if g.FailAfter == len(g.Pieces) {
		return ErrMidStream
	}
	if len(g.Pieces) > 0 {
		return o.Pace()
	}
	return nil
}

// Marshal is json.Marshal for values that cannot fail to encode.
func Marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
