// Package upstream calls OpenAI-compatible chat backends (Ollama's /v1 and
// any cloud provider): streams over net/http, whose per-request contexts
// let the gateway cancel a generation when its client leaves, and
// non-streaming calls over fasthttp's client, which does not hand each call
// to other goroutines (ADR 8). It classifies failures so the caller can
// tell a request that never reached the upstream (safe to try elsewhere)
// from one that did.
package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/resayil/portal/pkg/catalog"
)

// Kind names a backend kind; it is what x-resayil-backend says.
type Kind string

// Backend kinds; catalog.LocalMultiplier and catalog.CloudMultiplier are
// their credit multipliers (docs/architecture.md "Credits and holds").
const (
	Local Kind = "local"
	Cloud Kind = "cloud"
)

// Timeouts bound each phase of an upstream call.
type Timeouts struct {
	// Connect bounds the TCP (and TLS) handshake.
	Connect time.Duration
	// FirstByte bounds the wait for response headers, which Ollama sends
	// with the first token: it must allow for a model load.
	FirstByte time.Duration
	// Idle bounds the silence between two streamed events.
	Idle time.Duration
}

// DefaultTimeouts are documented in the README's variable table.
var DefaultTimeouts = Timeouts{Connect: 5 * time.Second, FirstByte: 120 * time.Second, Idle: 60 * time.Second}

// Backend is one OpenAI-compatible chat endpoint.
type Backend struct {
	Kind    Kind
	BaseURL string
	APIKey  string
	// Timeouts used by this backend.
	Timeouts Timeouts
	client   *http.Client
	fast     *fastClient
	url      string
}

// New returns a backend for baseURL (without /v1). A zero timeout takes
// DefaultTimeouts' (never none: a call must not wait forever).
func New(kind Kind, baseURL, apiKey string, t Timeouts) *Backend {
	for _, d := range []struct{ v, def *time.Duration }{
		{&t.Connect, &DefaultTimeouts.Connect}, {&t.FirstByte, &DefaultTimeouts.FirstByte}, {&t.Idle, &DefaultTimeouts.Idle},
	} {
		if *d.v <= 0 {
			*d.v = *d.def
		}
	}
	dialer := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   t.Connect,
		ResponseHeaderTimeout: t.FirstByte,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		// The gateway relays SSE as it arrives; compression would buffer it.
		DisableCompression: true,
	}
	return &Backend{
		Kind: kind, BaseURL: strings.TrimRight(baseURL, "/"), APIKey: apiKey, Timeouts: t,
		client: &http.Client{Transport: tr},
		fast:   newFastClient(baseURL, t),
		url:    strings.TrimRight(baseURL, "/") + "/v1/chat/completions",
	}
}

// Error is a failed upstream call before any byte reached the client.
type Error struct {
	// Status is the upstream's HTTP status, 0 when there was no response.
	Status int
	// Timeout is true when a timeout fired before the first byte.
	Timeout bool
	// NotSent is true when the request cannot have reached the upstream
	// (connection refused, DNS): trying another backend is always safe.
	NotSent bool
	// Closed is true when the upstream closed the connection before
	// answering (a crash, a restart): another backend may answer.
	Closed bool
	// Message is the upstream's own error message, if it sent one.
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("upstream status %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("upstream: %v", e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether another backend may be tried: the request never
// reached this one, it timed out before the first byte, it closed the
// connection without answering, or it answered 5xx (Ollama answers 503
// when its own queue is full).
func (e *Error) Retryable() bool { return e.NotSent || e.Timeout || e.Closed || e.Status >= 500 }

// Stream posts a streaming body and returns the response once its headers
// arrived with status 200. Any other outcome is an *Error and the body is
// closed. ctx cancels the call at any point, including mid-stream.
func (b *Backend) Stream(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Err: err, NotSent: true}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if b.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+b.APIKey)
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, classify(err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, &Error{Status: resp.StatusCode, Message: upstreamMessage(raw)}
}

func classify(err error) *Error {
	e := &Error{Err: err}
	// fasthttp's ErrTimeout has Timeout but not net.Error's Temporary.
	var te interface{ Timeout() bool }
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "dial":
		e.NotSent = true
		e.Timeout = op.Timeout()
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		// Every connection stayed busy for the connect timeout: nothing
		// was sent.
		e.NotSent, e.Timeout = true, true
	case errors.As(err, &te) && te.Timeout():
		e.Timeout = true
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		e.Closed = true
	}
	return e
}

// upstreamMessage extracts the message of an OpenAI-shaped or Ollama-native
// error body.
func upstreamMessage(raw []byte) string {
	var oa struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &oa) != nil || len(oa.Error) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(oa.Error, &s) == nil {
		return s
	}
	var obj struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(oa.Error, &obj)
	return obj.Message
}

// Multiplier returns the credit multiplier of a backend kind.
func (k Kind) Multiplier() int64 {
	if k == Cloud {
		return catalog.CloudMultiplier
	}
	return catalog.LocalMultiplier
}
