package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// maxAnswer bounds a non-streaming answer held in memory.
const maxAnswer = 32 << 20

// fastClient sends non-streaming calls (ADR 8). A non-streaming answer is
// read whole before anything reaches the client and cannot be cancelled by
// the client (the server cannot see it leave), so it needs neither
// per-request contexts nor a body stream: fasthttp's client writes and
// reads in the caller's goroutine, where net/http hands every call to two
// goroutines of its connection (a quarter of the gateway's CPU at
// concurrency 32 went there). Streams stay on net/http, whose contexts
// cancel a generation when its client leaves.
type fastClient struct {
	hc *fasthttp.HostClient
	// conns are the open connections, so that Abort can end the calls in
	// flight: a fasthttp call takes no context.
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	// aborted refuses new connections after abort: fasthttp takes any
	// failure before the first response byte for a closed kept-alive
	// connection and retries on a new one.
	aborted atomic.Bool
}

// testRoots replaces the system's certificate authorities in tests (nil:
// the system's).
var testRoots *x509.CertPool

// errAborted fails calls made after Abort.
var errAborted = errors.New("upstream: calls aborted (shutting down)")

// newFastClient returns the client of base (validated by the config; an
// unparsable one fails every call).
func newFastClient(base string, t Timeouts) *fastClient {
	u, err := url.Parse(base)
	if err != nil {
		u = &url.URL{}
	}
	isTLS := u.Scheme == "https"
	addr := u.Host
	if u.Port() == "" {
		addr = fasthttp.AddMissingPort(addr, isTLS)
	}
	fc := &fastClient{conns: map[*trackedConn]struct{}{}}
	dialer := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	tlsConf := &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, RootCAs: testRoots}
	fc.hc = &fasthttp.HostClient{
		Addr:  addr,
		IsTLS: isTLS,
		Dial: func(addr string) (net.Conn, error) {
			// The handshake happens here, bounded like the connection
			// (net/http's TLSHandshakeTimeout); fasthttp skips its own for
			// a connection that has a Handshake method.
			if fc.aborted.Load() {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errAborted}
			}
			ctx, cancel := context.WithTimeout(context.Background(), t.Connect)
			defer cancel()
			c, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			if isTLS {
				tc := tls.Client(c, tlsConf)
				if err := tc.HandshakeContext(ctx); err != nil {
					c.Close()
					return nil, err
				}
				c = tc
			}
			return fc.track(c), nil
		},
		NoDefaultUserAgentHeader: true,
		DisablePathNormalizing:   true,
		// Concurrency is bounded by the routing's slots and the cloud
		// budget, not here: wait for a connection rather than fail.
		MaxConns:           4096,
		MaxConnWaitTimeout: t.Connect,
		// Below the keep-alive timeouts of common servers (nginx 75 s), so
		// that a pooled connection is rarely one the server has closed.
		MaxIdleConnDuration: 10 * time.Second,
		MaxResponseBodySize: maxAnswer,
		// One retry, and only when the server closed the connection
		// before answering: a kept-alive connection it had closed (a
		// restart) is then replaced without failing the request. fasthttp
		// retries a POST in no other case. After a crash mid-request the
		// upstream may see the request twice; it is billed once.
		MaxIdemponentCallAttempts: 2,
	}
	return fc
}

// do posts body and returns the status and a copy of the answer's body.
func (fc *fastClient) do(uri, apiKey string, body []byte, deadline time.Time) (int, []byte, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(uri)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType("application/json")
	req.Header.Set("Accept", "application/json")
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	req.SetBodyRaw(body)
	if err := fc.hc.DoDeadline(req, resp, deadline); err != nil {
		return 0, nil, err
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// abort closes every open connection, so that calls in flight fail at
// once, and refuses new ones.
func (fc *fastClient) abort() {
	fc.aborted.Store(true)
	fc.mu.Lock()
	conns := make([]*trackedConn, 0, len(fc.conns))
	for c := range fc.conns {
		conns = append(conns, c)
	}
	fc.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
	fc.hc.CloseIdleConnections()
}

func (fc *fastClient) track(c net.Conn) *trackedConn {
	tc := &trackedConn{Conn: c, fc: fc}
	fc.mu.Lock()
	fc.conns[tc] = struct{}{}
	fc.mu.Unlock()
	return tc
}

// trackedConn leaves its client's set when closed.
type trackedConn struct {
	net.Conn
	fc   *fastClient
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.fc.mu.Lock()
		delete(c.fc.conns, c)
		c.fc.mu.Unlock()
	})
	return c.Conn.Close()
}

// Handshake tells fasthttp the TLS handshake is done (see Dial).
func (c *trackedConn) Handshake() error {
	if h, ok := c.Conn.(interface{ Handshake() error }); ok {
		return h.Handshake()
	}
	return nil
}

// Complete posts a non-streaming body and returns the whole answer when
// the upstream answered 200; any other outcome is an *Error. The call is
// bounded by the first-byte timeout (a non-streaming answer's headers come
// with its last token) and by ctx's deadline; a call in flight cannot be
// cancelled otherwise, but Abort ends them all.
func (b *Backend) Complete(ctx context.Context, body []byte) ([]byte, error) {
	deadline := time.Now().Add(b.Timeouts.FirstByte)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := ctx.Err(); err != nil {
		return nil, &Error{Err: err, NotSent: true}
	}
	if b.fast.aborted.Load() {
		return nil, &Error{Err: errAborted, NotSent: true}
	}
	status, raw, err := b.fast.do(b.url, b.APIKey, body, deadline)
	if err != nil {
		return nil, classify(err)
	}
	if status != 200 {
		return nil, &Error{Status: status, Message: upstreamMessage(raw)}
	}
	return raw, nil
}

// Abort ends every non-streaming call in flight on this backend (they fail
// with an *Error), closes its idle connections and fails later calls at
// once: the gateway's shutdown, past its grace, must not wait for answers.
// Streams are cancelled by their own contexts.
func (b *Backend) Abort() {
	b.fast.abort()
}
