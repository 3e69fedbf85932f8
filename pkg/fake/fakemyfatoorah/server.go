// Package fakemyfatoorah is a contract-exact fake of the MyFatoorah v2 API
// (https://docs.myfatoorah.com: SendPayment, InitiatePayment,
// GetPaymentStatus, the pay page and its redirects, webhooks V1 and V2) for
// tests and local development.
//
// It exists because the portal's billing must be tested offline against the
// awkward details of the real service, which a hand-written stub would
// smooth over: the IsSuccess envelope, 401s with an empty body, the
// misspelt "Succss" and "TransationValue", "5.000 KD" display amounts, a
// declined card that leaves the invoice Pending, callback redirects that
// carry only paymentId, and V1/V2 webhooks signed with pkg/myfatoorahsig.
// Test controls pay, fail or cancel invoices, lie about amounts, inject
// outages and hand out signed webhooks for replay.
//
// Production code must never import this package.
package fakemyfatoorah

import (
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// DefaultToken is the API token New accepts unless WithToken says otherwise.
const DefaultToken = "test-token"

// API paths served by the fake.
const (
	PathSendPayment      = "/v2/SendPayment"
	PathGetPaymentStatus = "/v2/GetPaymentStatus"
	PathInitiatePayment  = "/v2/InitiatePayment"
)

// Server is a running fake MyFatoorah. All methods are safe for concurrent
// use.
type Server struct {
	ts      *httptest.Server
	handler http.Handler
	token   string
	now     func() time.Time
	client  *http.Client
	log     *slog.Logger
	// allowLocalhost lifts the real service's refusal of "localhost"
	// callback URLs, for the dev program.
	allowLocalhost bool

	mu          sync.Mutex
	invoices    map[int64]*invoice
	order       []int64
	byPayment   map[string]int64
	lastInvoice int64
	seq         int64
	calls       map[string]int
	failLeft    int
	failMode    FailMode
	webhook     webhookConfig
	deliveries  []Delivery
}

// Option configures New.
type Option func(*Server, *options)

type options struct {
	listener net.Listener
}

// WithToken sets the API token that requests must carry as
// "Authorization: Bearer <token>".
func WithToken(token string) Option {
	return func(s *Server, _ *options) { s.token = token }
}

// WithClock replaces time.Now, so tests can move past invoice expiry.
func WithClock(now func() time.Time) Option {
	return func(s *Server, _ *options) { s.now = now }
}

// WithWebhook is SetWebhook at construction time.
func WithWebhook(url, secret string, version WebhookVersion) Option {
	return func(s *Server, _ *options) { s.webhook = newWebhookConfig(url, secret, version) }
}

// WithLogger logs API calls, payment attempts and webhook deliveries; the
// default logs nothing.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server, _ *options) { s.log = l }
}

// WithListener serves on l instead of a fresh 127.0.0.1:0 listener; the dev
// program uses it to listen on a fixed address.
func WithListener(l net.Listener) Option {
	return func(_ *Server, o *options) { o.listener = l }
}

// WithLocalhostCallbacks accepts CallBackUrl/ErrorUrl on host "localhost",
// which the real MyFatoorah refuses. For local development only.
func WithLocalhostCallbacks() Option {
	return func(s *Server, _ *options) { s.allowLocalhost = true }
}

// New starts a fake MyFatoorah on 127.0.0.1:0 (or WithListener's listener).
// Call Close when done.
func New(opts ...Option) *Server {
	s := &Server{
		token:     DefaultToken,
		now:       time.Now,
		client:    &http.Client{Timeout: 10 * time.Second},
		log:       slog.New(slog.DiscardHandler),
		invoices:  make(map[int64]*invoice),
		byPayment: make(map[string]int64),
		// Real invoice ids are 6–8 digit numbers; start somewhere similar.
		lastInvoice: 1_000_000,
		calls:       make(map[string]int),
	}
	var o options
	for _, opt := range opts {
		opt(s, &o)
	}
	s.handler = s.routes()
	s.ts = httptest.NewUnstartedServer(s.handler)
	if o.listener != nil {
		s.ts.Listener.Close()
		s.ts.Listener = o.listener
	}
	s.ts.Start()
	return s
}

// URL is the base URL to configure as the MyFatoorah API base, without a
// trailing slash.
func (s *Server) URL() string { return s.ts.URL }

// Handler serves the same routes as the running server, for mounting
// elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the server. Requests after Close get connection refused, the
// harshest outage a client can see.
func (s *Server) Close() { s.ts.Close() }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+PathSendPayment, s.api(s.sendPayment))
	mux.Handle("POST "+PathGetPaymentStatus, s.api(s.getPaymentStatus))
	mux.Handle("POST "+PathInitiatePayment, s.api(s.initiatePayment))
	mux.HandleFunc("GET /pay/{invoiceId}", s.payPage)
	mux.HandleFunc("POST /pay/{invoiceId}", s.payAction)
	mux.HandleFunc("/", s.notFound)
	return mux
}

// api wraps an endpoint with call counting, injected failures and the
// bearer-token check, in the order a request meets them in production
// (the gateway fails before the application authenticates).
func (s *Server) api(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[r.URL.Path]++
		mode, fail := s.failMode, s.failLeft > 0
		if fail {
			s.failLeft--
		}
		s.mu.Unlock()
		s.log.Info("fakemyfatoorah: API call", "path", r.URL.Path, "injected_failure", fail)
		if fail {
			mode.write(w)
			return
		}
		if !s.authorized(r) {
			// The real service sometimes answers a bad token with no body
			// at all; clients must cope with that.
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h(w, r)
	})
}

func (s *Server) authorized(r *http.Request) bool {
	want := "Bearer " + s.token
	got := r.Header.Get("Authorization")
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// notFound mimics ASP.NET Web API's answer to an unknown route.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]string{
		"Message":       "No HTTP resource was found that matches the request URI '" + r.URL.String() + "'.",
		"MessageDetail": "No route data was found for this request.",
	})
}

// FailMode is how injected failures look to the client.
type FailMode int

const (
	// FailHTML500 answers 500 with an HTML error page, not JSON.
	FailHTML500 FailMode = iota
	// FailHTML403 answers 403 with the Azure Application Gateway's HTML
	// page, as a blocked IP sees.
	FailHTML403
	// FailDrop closes the connection without answering, so the client sees
	// EOF or a reset. For connection refused, Close the server.
	FailDrop
)

func (m FailMode) write(w http.ResponseWriter) {
	switch m {
	case FailDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	case FailHTML403:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte("<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n<hr><center>Microsoft-Azure-Application-Gateway/v2</center>\r\n</body>\r\n</html>\r\n"))
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<!DOCTYPE html><html><head><title>Runtime Error</title></head><body><h1>Server Error in '/' Application.</h1></body></html>"))
	}
}

// FailNext makes the next n API calls (any /v2 path) fail with mode instead
// of being served. n <= 0 clears a pending injection.
func (s *Server) FailNext(n int, mode FailMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLeft, s.failMode = max(n, 0), mode
}

// Calls counts requests to an API path (for example PathGetPaymentStatus),
// including failed and unauthorized ones.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// StatusCalls counts GetPaymentStatus requests; the real endpoint is rate
// limited, so tests assert the portal does not poll it in a loop.
func (s *Server) StatusCalls() int { return s.Calls(PathGetPaymentStatus) }

// Invoices returns every invoice in creation order.
func (s *Server) Invoices() []Invoice {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Invoice, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.invoices[id].snapshot())
	}
	return out
}

// Invoice returns one invoice by id.
func (s *Server) Invoice(id int64) (Invoice, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inv, ok := s.invoices[id]
	if !ok {
		return Invoice{}, false
	}
	return inv.snapshot(), true
}
