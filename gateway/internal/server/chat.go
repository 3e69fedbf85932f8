package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/gateway/internal/admission"
	"github.com/resayil/portal/gateway/internal/routing"
	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/resayil"
)

// Authenticator turns an Authorization header into a Principal; errors
// carry resayil codes (EUNAUTHORIZED, EUNAVAILABLE).
type Authenticator interface {
	Authenticate(ctx context.Context, authorization string) (resayil.Principal, error)
}

// Observer receives one report per finished request (metrics, access log).
type Observer interface {
	Observe(r Report)
}

// Report describes one finished chat request.
type Report struct {
	Model     string
	Backend   upstream.Kind
	Status    int
	Outcome   string
	Prompt    int64
	Completed int64
	Credits   resayil.Credits
	Shortfall resayil.Credits
	Duration  time.Duration
	TTFB      time.Duration
	Refusal   string
}

// Anomaly is an upstream answer the gateway could not bill from the
// upstream's own count.
type Anomaly struct {
	Kind    string
	Model   string
	Backend upstream.Kind
}

// Anomaly kinds.
const (
	// AnomalyWrongShape: a stream to a non-streaming request, or the reverse.
	AnomalyWrongShape = "wrong_shape"
	// AnomalyNoUsage: a completed answer without usage.
	AnomalyNoUsage = "no_usage"
)

// AnomalyObserver is an Observer that also counts anomalies (metrics).
type AnomalyObserver interface {
	Anomaly(a Anomaly)
}

// Chat serves POST /v1/chat/completions.
type Chat struct {
	Log       *slog.Logger
	Auth      Authenticator
	Admission *admission.Admission
	Router    *routing.Router
	PublicURL string
	Observer  Observer
	// InFlight counts requests being served (a Prometheus gauge); optional.
	InFlight interface {
		Inc()
		Dec()
	}
	// KeepAlive is the interval of keep-alive comments during upstream
	// silence once a stream has started (1 s).
	KeepAlive time.Duration

	// base outlives every request; Stop cancels it after the shutdown
	// grace so that no stream outlives the process unbilled.
	base context.Context
	stop context.CancelFunc
	// waitCtx bounds the waits for a local slot: Drain cancels it at once,
	// so queued requests are answered 503 (another replica may serve them)
	// instead of holding the shutdown.
	waitCtx  context.Context
	stopWait context.CancelFunc
	inflight sync.WaitGroup
	stopped  chan struct{}
}

// Init prepares the handler; call before serving.
func (h *Chat) Init() {
	h.base, h.stop = context.WithCancel(context.Background())
	h.waitCtx, h.stopWait = context.WithCancel(h.base)
	h.stopped = make(chan struct{})
	if h.KeepAlive == 0 {
		h.KeepAlive = time.Second
	}
}

// Drain waits for in-flight requests to finish and settle, up to grace;
// then it ends the remaining streams (they settle what they generated) and
// waits for those settlements (invariant 7).
func (h *Chat) Drain(grace time.Duration) {
	h.stopWait()
	done := make(chan struct{})
	go func() { h.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(grace):
	}
	close(h.stopped)
	h.stop()
	// Streams end with base; non-streaming calls take no context.
	h.Router.Abort()
	<-done
}

func (h *Chat) begin() {
	h.inflight.Add(1)
	if h.InFlight != nil {
		h.InFlight.Inc()
	}
}

func (h *Chat) end() {
	if h.InFlight != nil {
		h.InFlight.Dec()
	}
	h.inflight.Done()
}

func (h *Chat) refuse(c *fiber.Ctx, err error) error {
	var r *admission.Refusal
	if !errors.As(err, &r) {
		return err
	}
	ae := &APIError{Status: r.Status, Type: r.Type, Code: r.Code, Param: r.Param, Message: r.Message, Headers: map[string]string{}}
	switch r.Status {
	case fiber.StatusTooManyRequests:
		ae.Headers["Retry-After"] = strconv.FormatInt(admission.RetryAfterSeconds(r.RetryAfter), 10)
	case fiber.StatusPaymentRequired:
		ae.Message = fmt.Sprintf("You do not have enough credits for this request: your available balance is %d credits. Top up at %s/billing to continue.", r.Balance, h.PublicURL)
	}
	if r.NoRetry {
		ae.Headers["x-should-retry"] = "false"
	}
	return ae
}

func storeError(err error) error {
	switch resayil.ErrorCode(err) {
	case resayil.EUNAUTHORIZED:
		return &APIError{Status: 401, Type: "invalid_request_error", Code: codeInvalidAPIKey, Message: resayil.ErrorMessage(err)}
	case resayil.EUNAVAILABLE:
		return serviceUnavailable()
	}
	if errors.Is(err, admission.ErrUnavailable) {
		return serviceUnavailable()
	}
	return err
}

func serviceUnavailable() *APIError {
	return &APIError{Status: 503, Type: "server_error", Code: "service_unavailable",
		Message: "The service is temporarily unavailable. Please retry shortly.", Headers: map[string]string{"Retry-After": "1"}}
}

func setRateHeaders(c *fiber.Ctx, d admission.Decision) {
	if d.RateLimit.Limit == 0 {
		return
	}
	c.Set("x-ratelimit-limit-requests", strconv.Itoa(d.RateLimit.Limit))
	c.Set("x-ratelimit-remaining-requests", strconv.Itoa(d.RateLimit.Remaining))
	c.Set("x-ratelimit-reset-requests", d.RateLimit.ResetAfter.Round(time.Millisecond).String())
}

// Handle is the request path, one named step after another: authenticate,
// parse, admit (model access, rate limit, hold), route (call backends until
// one sends its first event), then answer whole or stream; either way the
// request is settled once. Each step is a method of exchange (exchange.go).
func (h *Chat) Handle(c *fiber.Ctx) error {
	x := &exchange{h: h, start: time.Now()}
	h.begin()
	handedOff := false
	defer func() {
		if !handedOff {
			h.end()
		}
	}()
	if err := x.authenticate(c); err != nil {
		return err
	}
	if err := x.parse(c); err != nil {
		return err
	}
	if err := x.admit(c); err != nil {
		return err
	}
	if err := x.route(); err != nil {
		return err
	}
	c.Set("x-resayil-backend", string(x.lease.Route.Backend.Kind))
	if x.wrongShape || !x.req.Stream {
		// Settling frees the local slot (in Redis mode in the settlement's
		// round trip); this release only frees one a failed settlement
		// left behind (idempotent).
		defer x.lease.Release()
		if x.wrongShape {
			return x.answerWrongShape(c)
		}
		return x.answerWhole(c)
	}
	handedOff = true
	x.stream(c)
	return nil
}

// scrub keeps an upstream's error message, which is passed through to the
// client on a 400, from naming what the client must not see (invariant 4):
// the backend's name for the model becomes the public id, and a message
// that names a restricted model is replaced whole.
func (h *Chat) scrub(err error, backendModel, publicModel string) error {
	var ue *upstream.Error
	if !errors.As(err, &ue) || ue.Message == "" {
		return err
	}
	msg := ue.Message
	if backendModel != "" && backendModel != publicModel {
		msg = strings.ReplaceAll(msg, backendModel, publicModel)
	}
	if h.Admission.Catalog.Get().MentionsRestricted(msg) {
		msg = ""
	}
	ue.Message = msg
	return err
}

// routeError maps a routing failure before the first byte to the client's
// answer.
func routeError(err error, model string) error {
	switch {
	case errors.Is(err, routing.ErrCloudExhausted):
		// Not transient within the day: SDKs must not retry it.
		return &APIError{Status: 503, Type: "server_error", Code: "cloud_capacity_exhausted",
			Message: "Today's cloud capacity is used up. Cloud models are available again after midnight (Asia/Kuwait).",
			Headers: map[string]string{"x-should-retry": "false"}}
	case errors.Is(err, routing.ErrServerBusy):
		// Retrying is right here: no x-should-retry.
		return &APIError{Status: 503, Type: "server_error", Code: "server_busy",
			Message: "The models are busy. Please retry shortly.", Headers: map[string]string{"Retry-After": strconv.Itoa(busyRetryAfter)}}
	case errors.Is(err, routing.ErrNoBackend):
		return &APIError{Status: 503, Type: "server_error", Code: "model_unavailable", Headers: map[string]string{"Retry-After": strconv.Itoa(busyRetryAfter)},
			Message: fmt.Sprintf("The model `%s` is not available right now. Please retry later.", model)}
	case resayil.ErrorCode(err) == resayil.EUNAVAILABLE:
		return serviceUnavailable()
	}
	var ue *upstream.Error
	if errors.As(err, &ue) {
		return upstreamError(err, model)
	}
	return err
}

// busyRetryAfter is the Retry-After of a busy answer, in seconds.
const busyRetryAfter = 5

func (h *Chat) observe(r Report) {
	if h.Observer != nil {
		h.Observer.Observe(r)
	}
}

func (h *Chat) observeAnomaly(a Anomaly) {
	if o, ok := h.Observer.(AnomalyObserver); ok {
		o.Anomaly(a)
	}
}

func statusOf(err error) int {
	var r *admission.Refusal
	if errors.As(err, &r) {
		return r.Status
	}
	return 503
}

func codeOf(err error) string {
	var r *admission.Refusal
	if errors.As(err, &r) {
		return r.Code
	}
	return "service_unavailable"
}

// upstreamError maps a failure before the first byte to an OpenAI-shaped
// 502/503/504 without naming internal hosts.
func upstreamError(err error, model string) *APIError {
	var ue *upstream.Error
	if !errors.As(err, &ue) {
		ue = &upstream.Error{Err: err}
	}
	switch {
	case ue.Timeout:
		return &APIError{Status: 504, Type: "server_error", Code: "upstream_timeout", Message: "The model did not start answering in time. Please retry."}
	case ue.Status == 503 || ue.Status == 429:
		return &APIError{Status: 503, Type: "server_error", Code: "server_busy", Message: "The model is busy. Please retry shortly.", Headers: map[string]string{"Retry-After": "1"}}
	case ue.Status == 404:
		return &APIError{Status: 503, Type: "server_error", Code: "model_unavailable", Message: fmt.Sprintf("The model `%s` is not available right now. Please retry later.", model)}
	case ue.Status == 400 || ue.Status == 422:
		msg := ue.Message
		if msg == "" {
			msg = "The model rejected the request."
		}
		return &APIError{Status: 400, Type: "invalid_request_error", Message: msg}
	case ue.NotSent:
		return &APIError{Status: 502, Type: "server_error", Code: "upstream_unavailable", Message: "The model backend cannot be reached. Please retry shortly."}
	}
	return &APIError{Status: 502, Type: "server_error", Code: "bad_gateway", Message: "The model backend failed to answer. Please retry."}
}
