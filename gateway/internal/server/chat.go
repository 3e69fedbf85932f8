package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/gateway/internal/admission"
	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/chat"
	"github.com/resayil/portal/gateway/internal/redisbatch"
	"github.com/resayil/portal/gateway/internal/relay"
	"github.com/resayil/portal/gateway/internal/routing"
	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
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
	// Batch, in Redis mode, sends a request's settlement and its local-slot
	// release in one round trip; nil in embedded mode.
	Batch *redisbatch.Batch

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
		return &APIError{Status: 401, Type: "invalid_request_error", Code: "invalid_api_key", Message: resayil.ErrorMessage(err)}
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

// Handle is the request path: authenticate, validate, admit (model access,
// rate limit, hold), call the backend, relay, settle once.
func (h *Chat) Handle(c *fiber.Ctx) error {
	start := time.Now()
	h.begin()
	handedOff := false
	defer func() {
		if !handedOff {
			h.end()
		}
	}()
	ctx := h.base
	p, err := h.Auth.Authenticate(ctx, c.Get(fiber.HeaderAuthorization))
	if err != nil {
		return storeError(err)
	}
	req, err := chat.Parse(c.Body())
	if err != nil {
		var ce *chat.Error
		if errors.As(err, &ce) {
			return &APIError{Status: 400, Type: "invalid_request_error", Param: ce.Param, Message: ce.Message}
		}
		return err
	}
	billingID := httpserver.RequestID(c) // the gateway's own id, already on the answer (server.New)
	clientID := c.Get(httpserver.RequestIDHeader)
	if len(clientID) > 128 {
		clientID = clientID[:128]
	}
	clientID = string([]byte(clientID))
	ar := admission.Request{RequestID: billingID, Model: req.Model, PromptBytes: req.PromptBytes, MaxTokens: req.MaxTokens, N: req.N}
	if h.Batch != nil {
		// Redis mode: a free local slot is taken in the admission's round
		// trip (the router takes it, or gives it back).
		ar.Early = func(m *catalog.Model) *capacity.Early {
			return h.Router.Early(routing.Request{ID: billingID, Model: m, Plan: p.Plan})
		}
	}
	ticket, dec, err := h.Admission.Admit(ctx, p, ar)
	setRateHeaders(c, dec)
	if err != nil {
		h.observe(Report{Model: req.Model, Status: statusOf(err), Refusal: codeOf(err), Duration: time.Since(start)})
		if r := h.refuse(c, err); r != err {
			return r
		}
		return storeError(err)
	}
	// Serve tries backends until one sends its first event: only then is
	// anything committed to the client, so a failure before it can still go
	// to the next backend (external-apis.md §1.4).
	var (
		resp       *http.Response
		events     *relay.Events
		first      []byte
		answer     []byte
		upCancel   context.CancelFunc
		wrongShape bool
	)
	lease, err := h.Router.Serve(h.waitCtx, routing.Request{ID: billingID, Model: ticket.Model, Plan: p.Plan, Early: ticket.Early},
		func(b *upstream.Backend, model string) error {
			body, err := req.Upstream(model, ticket.MaxTokens)
			if err != nil {
				return err
			}
			if !req.Stream {
				// Read whole before anything is sent: a failure is still
				// one before the first byte. Shutdown ends it with Abort.
				answer, err = b.Complete(h.base, body)
				return h.scrub(err, model, req.Model)
			}
			uctx, cancel := context.WithCancel(h.base)
			r, err := b.Stream(uctx, body)
			if err != nil {
				cancel()
				return h.scrub(err, model, req.Model)
			}
			ev := relay.NewEvents(r.Body)
			if relay.IsJSON(r.Header.Get(fiber.HeaderContentType), ev) {
				// A whole answer where a stream was asked for: the upstream
				// generated it, so it is billed (at the hold), but none of
				// its bytes go to a client that expects SSE.
				cancel()
				r.Body.Close()
				ev.Release()
				wrongShape = true
				return nil
			}
			f, err := ev.Next()
			if err == nil && chat.ParseChunk(f).Error {
				err = errors.New("upstream sent an error event first")
			}
			if err != nil {
				// Nothing reached the client: as good as a 502.
				cancel()
				r.Body.Close()
				ev.Release()
				return &upstream.Error{Status: fiber.StatusBadGateway, Err: err}
			}
			events, first = ev, append([]byte(nil), f...)
			resp, upCancel = r, cancel
			return nil
		})
	if err != nil {
		// Not ctx: past the shutdown grace base is cancelled, and the hold
		// must still go back now rather than when its lease runs out.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		ticket.Release(rctx)
		rcancel()
		answer := routeError(err, req.Model)
		r := Report{Model: req.Model, Status: 502, Refusal: "upstream_error", Duration: time.Since(start)}
		var ae *APIError
		if errors.As(answer, &ae) {
			r.Status = ae.Status
			if ae.Code != "" {
				r.Refusal = ae.Code
			}
		}
		h.observe(r)
		return answer
	}
	route := lease.Route
	c.Set("x-resayil-backend", string(route.Backend.Kind))
	usage := wallet.Usage{ClientRequestID: clientID, APIKeyID: int64(p.KeyID), Model: ticket.Model.ID, Backend: string(route.Backend.Kind)}
	if wrongShape {
		defer lease.Release()
		return h.wrongShape(c, ticket, lease, usage, start, true)
	}
	if !req.Stream {
		// Settling releases the slot in the same Redis pipeline; this
		// release only frees an in-process slot, or one a failed settlement
		// left behind (idempotent).
		defer lease.Release()
		return h.complete(c, ticket, lease, answer, usage, start)
	}
	cancel := upCancel
	ttfb := time.Since(start)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	opts := relay.StreamOptions{
		IncludeUsage: req.IncludeUsage, PublicModel: ticket.Model.ID, BackendModel: route.Model,
		Idle: route.Backend.Timeouts.Idle, KeepAlive: h.KeepAlive, Cancel: cancel, Done: h.stopped,
	}
	handedOff = true
	// Nothing from c may be used inside the writer: fasthttp recycles the
	// context once this handler returns (external-apis.md §5.3).
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer h.end()
		defer lease.Release()
		defer cancel()
		defer resp.Body.Close()
		var res relay.Result
		defer func() {
			if rec := recover(); rec != nil {
				h.Log.Error("panic in stream writer", "request_id", billingID, "panic", rec)
				res.Outcome = relay.UpstreamError
			}
			if res.Outcome == relay.OK && !res.HaveUsage {
				h.noUsage(ticket, route.Backend.Kind)
			}
			h.settle(ticket, lease, res, usage, start, ttfb)
		}()
		// After the first byte an upstream failure is an error event, never
		// a retry.
		res = relay.Stream(w, first, events, opts)
	})
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

// complete relays a non-streaming answer, read whole already. fasthttp
// cannot see a non-streaming client leave, so these run to the end and are
// billed.
func (h *Chat) complete(c *fiber.Ctx, t *admission.Ticket, lease *routing.Lease, raw []byte, u wallet.Usage, start time.Time) error {
	route := lease.Route
	ttfb := time.Since(start)
	done, ok := chat.ReadCompletion(raw)
	if !ok {
		// Not a JSON object (an SSE stream, or worse): never relayed under
		// application/json.
		return h.wrongShape(c, t, lease, u, start, false)
	}
	res := relay.Result{Outcome: relay.OK, Usage: done.Usage, HaveUsage: done.HaveUsage}
	if !res.HaveUsage {
		h.noUsage(t, route.Backend.Kind)
		res.Generated = chat.EstimateRelayed(raw)
	}
	sr, err := h.settle(t, lease, res, u, start, ttfb)
	if err == nil {
		c.Set("x-resayil-credits-charged", strconv.FormatInt(int64(sr.Charged), 10))
		c.Set("x-resayil-credits-remaining", strconv.FormatInt(int64(sr.Balance), 10))
	}
	if route.Model != t.Model.ID {
		raw = chat.RenameModel(raw, t.Model.ID)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(raw)
}

// wrongShape answers an upstream answer whose shape does not match the
// request (a stream to a non-streaming request, or the reverse) with a
// 502: the upstream did the work, so the request is billed at its hold,
// counted and logged, but the mismatched bytes never reach the client.
func (h *Chat) wrongShape(c *fiber.Ctx, t *admission.Ticket, lease *routing.Lease, u wallet.Usage, start time.Time, streamAsked bool) error {
	kind := lease.Route.Backend.Kind
	h.Log.Warn("upstream answered in the wrong shape; billed at the hold", "request_id", t.RequestID,
		"model", t.Model.ID, "backend", string(kind), "stream_requested", streamAsked)
	h.observeAnomaly(Anomaly{Kind: AnomalyWrongShape, Model: t.Model.ID, Backend: kind})
	res := relay.Result{Outcome: relay.WrongShape}
	sr, err := h.settle(t, lease, res, u, start, time.Since(start))
	if err == nil {
		c.Set("x-resayil-credits-charged", strconv.FormatInt(int64(sr.Charged), 10))
		c.Set("x-resayil-credits-remaining", strconv.FormatInt(int64(sr.Balance), 10))
	}
	return &APIError{Status: fiber.StatusBadGateway, Type: "server_error", Code: "bad_upstream_response",
		Message: "The model backend answered in a form that does not match the request. Please retry."}
}

// noUsage counts and logs a completed answer that carried no usage: it is
// billed from the gateway's own count of the prompt and of what it relayed.
func (h *Chat) noUsage(t *admission.Ticket, kind upstream.Kind) {
	h.Log.Warn("upstream answer without usage; billed from the gateway's own count", "request_id", t.RequestID,
		"model", t.Model.ID, "backend", string(kind))
	h.observeAnomaly(Anomaly{Kind: AnomalyNoUsage, Model: t.Model.ID, Backend: kind})
}

// settle bills what the upstream reported, or what was counted when it
// reported nothing (a disconnect or failure mid-stream), or the hold for
// an answer in the wrong shape, and frees the lease's local slot: in Redis
// mode both in one round trip.
func (h *Chat) settle(t *admission.Ticket, lease *routing.Lease, res relay.Result, u wallet.Usage, start time.Time, ttfb time.Duration) (wallet.SettleResult, error) {
	route := lease.Route
	usage := res.Usage
	if !res.HaveUsage {
		usage = chat.Usage{PromptTokens: t.PromptEstimate, CompletionTokens: res.Generated}
	}
	var cost resayil.Credits
	if res.Outcome == relay.WrongShape {
		// What the upstream did is unknown: the upper bound it was allowed.
		usage = chat.Usage{PromptTokens: t.PromptEstimate, CompletionTokens: t.MaxTokens}
		cost = t.Held
	}
	u.PromptTokens, u.CompletionTokens, u.TotalTokens = int(usage.PromptTokens), int(usage.CompletionTokens), int(usage.Total())
	u.Status, u.Latency, u.TTFB = string(res.Outcome), time.Since(start), ttfb
	if res.Outcome != relay.WrongShape {
		cost = catalog.Cost(usage.Total(), t.Model.CreditsPer1KTokens, route.Backend.Kind.Multiplier())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		sr  wallet.SettleResult
		err error
	)
	if b := h.Batch; b != nil && b.Capacity != nil {
		sr, err = t.SettleWith(ctx, cost, u, func(ctx context.Context, s wallet.Settlement) (wallet.SettleResult, error) {
			var st redisbatch.Settled
			batched := false
			lease.ReleaseWith(func(hosts []capacity.Host, id string) (capacity.Outcome, error) {
				batched = true
				return b.SettleLeave(ctx, s, hosts, id, &st)
			})
			if !batched {
				// No local slot (the cloud), or it was freed already.
				return b.Wallet.Settle(ctx, s)
			}
			return st.Result, st.Err
		})
	} else {
		sr, err = t.Settle(ctx, cost, u)
	}
	if err != nil {
		h.Log.Error("settle failed", "request_id", t.RequestID, "account", t.Account, "err", err)
	}
	status := fiber.StatusOK
	if res.Outcome == relay.WrongShape {
		status = fiber.StatusBadGateway
	}
	h.observe(Report{Model: t.Model.ID, Backend: route.Backend.Kind, Status: status, Outcome: u.Status,
		Prompt: usage.PromptTokens, Completed: usage.CompletionTokens, Credits: sr.Charged, Shortfall: sr.Shortfall,
		Duration: u.Latency, TTFB: ttfb})
	return sr, err
}

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
