package server

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/resayil/portal/gateway/internal/admission"
	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/gateway/internal/chat"
	"github.com/resayil/portal/gateway/internal/relay"
	"github.com/resayil/portal/gateway/internal/routing"
	"github.com/resayil/portal/gateway/internal/upstream"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/httpserver"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// exchange is one chat request on its way through Handle's steps: what
// each step learnt, for the next. One value per request, so the steps
// share state without a closure capturing each variable on the heap.
type exchange struct {
	h     *Chat
	start time.Time
	p     resayil.Principal
	req   *chat.Request
	// id is the gateway's own request id (the billing id); clientID the
	// client's X-Request-Id, kept beside it.
	id, clientID string
	ticket       *admission.Ticket
	lease        *routing.Lease

	// What the chosen backend sent before anything went to the client:
	// a whole answer, or a stream with its first event read.
	answer     []byte
	resp       *http.Response
	events     *relay.Events
	first      []byte
	cancel     context.CancelFunc
	wrongShape bool
}

// authenticate turns the Authorization header into the caller.
func (x *exchange) authenticate(c *fiber.Ctx) error {
	p, err := x.h.Auth.Authenticate(x.h.base, c.Get(fiber.HeaderAuthorization))
	if err != nil {
		return storeError(err)
	}
	x.p = p
	return nil
}

// parse reads the body (one reading: chat.Parse) and the request's ids.
func (x *exchange) parse(c *fiber.Ctx) error {
	req, err := chat.Parse(c.Body())
	if err != nil {
		var ce *chat.Error
		if errors.As(err, &ce) {
			return &APIError{Status: 400, Type: "invalid_request_error", Param: ce.Param, Message: ce.Message}
		}
		return err
	}
	x.req = req
	x.id = httpserver.RequestID(c) // the gateway's own id, already on the answer (server.New)
	clientID := c.Get(httpserver.RequestIDHeader)
	if len(clientID) > 128 {
		clientID = clientID[:128]
	}
	x.clientID = string([]byte(clientID)) // a copy: c's bytes are recycled
	return nil
}

// admit checks model access, the rate limit and takes the hold (and, where
// the store can, a free local slot in the same round trip).
func (x *exchange) admit(c *fiber.Ctx) error {
	ar := admission.Request{RequestID: x.id, Model: x.req.Model, PromptBytes: x.req.PromptBytes, MaxTokens: x.req.MaxTokens, N: x.req.N,
		Early: x.early}
	ticket, dec, err := x.h.Admission.Admit(x.h.base, x.p, ar)
	setRateHeaders(c, dec)
	if err != nil {
		x.h.observe(Report{Model: x.req.Model, Status: statusOf(err), Refusal: codeOf(err), Duration: time.Since(x.start)})
		if r := x.h.refuse(c, err); r != err {
			return r
		}
		return storeError(err)
	}
	x.ticket = ticket
	return nil
}

// early prepares the request's early local-slot entry (the router takes
// it, or gives it back).
func (x *exchange) early(m *catalog.Model) *capacity.Early {
	return x.h.Router.Early(routing.Request{ID: x.id, Model: m, Plan: x.p.Plan})
}

// route tries backends until one sends its first event: only then is
// anything committed to the client, so a failure before it can still go
// to the next backend. A failure of every backend releases the hold.
func (x *exchange) route() error {
	lease, err := x.h.Router.Serve(x.h.waitCtx, routing.Request{ID: x.id, Model: x.ticket.Model, Plan: x.p.Plan, Early: x.ticket.Early}, x.call)
	if err == nil {
		x.lease = lease
		return nil
	}
	// Not base: past the shutdown grace it is cancelled, and the hold must
	// still go back now rather than when its lease runs out.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(x.h.base), 10*time.Second)
	_ = x.ticket.Release(rctx) // a failure is logged by the ticket
	rcancel()
	answer := routeError(err, x.req.Model)
	r := Report{Model: x.req.Model, Status: 502, Refusal: "upstream_error", Duration: time.Since(x.start)}
	var ae *APIError
	if errors.As(answer, &ae) {
		r.Status = ae.Status
		if ae.Code != "" {
			r.Refusal = ae.Code
		}
	}
	x.h.observe(r)
	return answer
}

// call sends the request to one backend (routing.Call).
func (x *exchange) call(b *upstream.Backend, model string) error {
	body, err := x.req.Upstream(model, x.ticket.MaxTokens)
	if err != nil {
		return err
	}
	if !x.req.Stream {
		// Read whole before anything is sent: a failure is still one
		// before the first byte. Shutdown ends it with Abort.
		x.answer, err = b.Complete(x.h.base, body)
		return x.h.scrub(err, model, x.req.Model)
	}
	uctx, cancel := context.WithCancel(x.h.base)
	r, err := b.Stream(uctx, body)
	if err != nil {
		cancel()
		return x.h.scrub(err, model, x.req.Model)
	}
	ev := relay.NewEvents(r.Body)
	if relay.IsJSON(r.Header.Get(fiber.HeaderContentType), ev) {
		// A whole answer where a stream was asked for: the upstream
		// generated it, so it is billed (at the hold), but none of its
		// bytes go to a client that expects SSE.
		cancel()
		r.Body.Close()
		ev.Release()
		x.wrongShape = true
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
	x.events, x.first = ev, append([]byte(nil), f...)
	x.resp, x.cancel = r, cancel
	return nil
}

// answerWhole relays a non-streaming answer, read whole already. fasthttp
// cannot see a non-streaming client leave, so these run to the end and are
// billed.
func (x *exchange) answerWhole(c *fiber.Ctx) error {
	ttfb := time.Since(x.start)
	done, ok := chat.ReadCompletion(x.answer)
	if !ok {
		// Not a JSON object (an SSE stream, or worse): never relayed under
		// application/json.
		return x.answerWrongShape(c)
	}
	res := relay.Result{Outcome: relay.OK, Usage: done.Usage, HaveUsage: done.HaveUsage}
	if !res.HaveUsage {
		x.noUsage()
		res.Generated = catalog.EstimateTokens(chat.RelayedBytes(x.answer))
	}
	sr, err := x.settle(res, ttfb)
	if err == nil {
		setCreditHeaders(c, sr)
	}
	raw := x.answer
	if x.lease.Route.Model != x.ticket.Model.ID {
		raw = chat.RenameModel(raw, x.ticket.Model.ID)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(raw)
}

// answerWrongShape answers an upstream answer whose shape does not match
// the request (a stream to a non-streaming request, or the reverse) with a
// 502: the upstream did the work, so the request is billed at its hold,
// counted and logged, but the mismatched bytes never reach the client.
func (x *exchange) answerWrongShape(c *fiber.Ctx) error {
	kind := x.lease.Route.Backend.Kind
	x.h.Log.Warn("upstream answered in the wrong shape; billed at the hold", "request_id", x.id,
		"model", x.ticket.Model.ID, "backend", string(kind), "stream_requested", x.req.Stream)
	x.h.observeAnomaly(Anomaly{Kind: AnomalyWrongShape, Model: x.ticket.Model.ID, Backend: kind})
	sr, err := x.settle(relay.Result{Outcome: relay.WrongShape}, time.Since(x.start))
	if err == nil {
		setCreditHeaders(c, sr)
	}
	return &APIError{Status: fiber.StatusBadGateway, Type: "server_error", Code: "bad_upstream_response",
		Message: "The model backend answered in a form that does not match the request. Please retry."}
}

func setCreditHeaders(c *fiber.Ctx, sr wallet.SettleResult) {
	c.Set("x-resayil-credits-charged", strconv.FormatInt(int64(sr.Charged), 10))
	c.Set("x-resayil-credits-remaining", strconv.FormatInt(int64(sr.Balance), 10))
}

// stream relays the upstream's SSE answer from a writer fasthttp runs
// after Handle returns. Nothing from c may be used inside it: fasthttp
// recycles the context once the handler returns.
func (x *exchange) stream(c *fiber.Ctx) {
	ttfb := time.Since(x.start)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no")
	route := x.lease.Route
	opts := relay.StreamOptions{
		IncludeUsage: x.req.IncludeUsage, PublicModel: x.ticket.Model.ID, BackendModel: route.Model,
		Idle: route.Backend.Timeouts.Idle, KeepAlive: x.h.KeepAlive, Cancel: x.cancel, Done: x.h.stopped,
	}
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		// Deferred, so they run in this order: settle, close the body,
		// cancel the upstream, free the slot, count the request done.
		defer x.h.end()
		defer x.lease.Release()
		defer x.cancel()
		defer x.resp.Body.Close()
		var res relay.Result
		defer func() {
			if rec := recover(); rec != nil {
				x.h.Log.Error("panic in stream writer", "request_id", x.id, "panic", rec)
				res.Outcome = relay.UpstreamError
			}
			if res.Outcome == relay.OK && !res.HaveUsage {
				x.noUsage()
			}
			_, _ = x.settle(res, ttfb) // a failure is logged by settle
		}()
		// After the first byte an upstream failure is an error event,
		// never a retry.
		res = relay.Stream(w, x.first, x.events, opts)
	})
}

// noUsage counts and logs a completed answer that carried no usage: it is
// billed from the gateway's own count of the prompt and of what it relayed.
func (x *exchange) noUsage() {
	kind := x.lease.Route.Backend.Kind
	x.h.Log.Warn("upstream answer without usage; billed from the gateway's own count", "request_id", x.id,
		"model", x.ticket.Model.ID, "backend", string(kind))
	x.h.observeAnomaly(Anomaly{Kind: AnomalyNoUsage, Model: x.ticket.Model.ID, Backend: kind})
}

// settle bills what the upstream reported, or what was counted when it
// reported nothing (a disconnect or failure mid-stream), or the hold for
// an answer in the wrong shape, and frees the local slot: in Redis mode
// both in one round trip.
func (x *exchange) settle(res relay.Result, ttfb time.Duration) (wallet.SettleResult, error) {
	t, kind := x.ticket, x.lease.Route.Backend.Kind
	usage := res.Usage
	if !res.HaveUsage {
		usage = chat.Usage{PromptTokens: t.PromptEstimate, CompletionTokens: res.Generated}
	}
	var cost resayil.Credits
	status := fiber.StatusOK
	if res.Outcome == relay.WrongShape {
		// What the upstream did is unknown: the upper bound it was allowed.
		usage = chat.Usage{PromptTokens: t.PromptEstimate, CompletionTokens: t.MaxTokens}
		cost, status = t.Held, fiber.StatusBadGateway
	} else {
		cost = catalog.Cost(usage.Total(), t.Model.CreditsPer1KTokens, kind.Multiplier())
	}
	u := wallet.Usage{
		ClientRequestID: x.clientID, APIKeyID: int64(x.p.KeyID), Model: t.Model.ID, Backend: string(kind),
		PromptTokens: int(usage.PromptTokens), CompletionTokens: int(usage.CompletionTokens), TotalTokens: int(usage.Total()),
		Status: string(res.Outcome), Latency: time.Since(x.start), TTFB: ttfb, Held: t.Held,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sr, err := t.Settle(ctx, cost, u, x.lease)
	if err != nil {
		x.h.Log.Error("settle failed", "request_id", t.RequestID, "account", t.Account, "err", err)
	}
	x.h.observe(Report{Model: t.Model.ID, Backend: kind, Status: status, Outcome: u.Status,
		Prompt: usage.PromptTokens, Completed: usage.CompletionTokens, Credits: sr.Charged, Shortfall: sr.Shortfall,
		Duration: u.Latency, TTFB: ttfb})
	return sr, err
}
