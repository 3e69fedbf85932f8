// Package admission decides whether a request may run, before any byte goes
// upstream: model access for the account's plan, the per-account rate limit,
// and the credit hold. It returns a Ticket that settles or releases the hold
// exactly once, whatever path the request takes afterwards.
package admission

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/resayil/portal/gateway/internal/capacity"
	"github.com/resayil/portal/pkg/catalog"
	"github.com/resayil/portal/pkg/ratelimit"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// Plans lists the active plans, to name the lowest plan that unlocks a model.
type Plans interface {
	All() []resayil.Plan
}

// Admission holds what admitting a request needs.
type Admission struct {
	Catalog *catalog.Live
	// Store takes the rate limit, the hold and the early slot, and settles
	// (Embedded, or redisbatch.Batch in Redis mode).
	Store Store
	// Wallet renews and releases holds.
	Wallet wallet.Wallet
	Plans  Plans
	// Lease of each hold; renewed every Lease/3 while the request runs.
	Lease time.Duration
	// Cloud is true when a cloud backend is configured: only then can a
	// request be served at the cloud multiplier.
	Cloud bool
	// Log receives what goes wrong with a hold after admission (a failed
	// renewal or release), which no client answer can carry.
	Log *slog.Logger
}

// Request is what admission needs to know about a chat request.
type Request struct {
	RequestID string
	Model     string
	// PromptBytes is the size of everything the upstream may turn into
	// prompt tokens (chat.Request.PromptBytes).
	PromptBytes int
	// MaxTokens asked for by the client (0 = the catalog's bound).
	MaxTokens int64
	N         int64
	// Early, when set, is asked (once the model is known and allowed) for
	// the request's early local-slot entry, which the Store sends with the
	// rate limit and the hold; a Store without EarlySlots never asks.
	Early func(m *catalog.Model) *capacity.Early
}

// Decision carries what the server reports even when a request is refused:
// the rate-limit state for the x-ratelimit-* headers.
type Decision struct {
	RateLimit ratelimit.Decision
}

// Refusal is a request admission turned away; Code is the OpenAI error
// code and Status the HTTP status.
type Refusal struct {
	Status  int
	Code    string
	Type    string
	Param   string
	Message string
	// RetryAfter is set for rate limits.
	RetryAfter time.Duration
	// Balance is the available balance on insufficient credits.
	Balance resayil.Credits
	NoRetry bool
}

func (r *Refusal) Error() string { return r.Message }

// ModelNotFound is the one answer for unknown and restricted models alike
// (invariant 4): the message only repeats what the client sent.
func ModelNotFound(model string) *Refusal {
	return &Refusal{Status: 404, Code: "model_not_found", Type: "invalid_request_error", Param: "model",
		Message: fmt.Sprintf("The model `%s` does not exist or you do not have access to it.", model)}
}

// Admit checks model access, the rate limit and reserves credits. On
// success the Ticket must be settled or released.
func (a *Admission) Admit(ctx context.Context, p resayil.Principal, req Request) (*Ticket, Decision, error) {
	var d Decision
	m, ok := a.Catalog.Get().Lookup(req.Model)
	if !ok {
		return nil, d, ModelNotFound(req.Model)
	}
	if !catalog.Allowed(m, p.Plan) {
		msg := fmt.Sprintf("Your plan does not include the model `%s`.", req.Model)
		if lp, ok := catalog.LowestPlan(m, a.Plans.All()); ok {
			msg = fmt.Sprintf("The model `%s` requires the %s plan or higher. Upgrade your plan to use it.", req.Model, lp.Name)
		}
		return nil, d, &Refusal{Status: 403, Code: "model_not_allowed", Type: "invalid_request_error", Param: "model", Message: msg}
	}
	mult := catalog.LocalMultiplier
	if m.CloudOnly || (a.Cloud && p.Plan.CloudAllowed && m.HasCloud()) {
		// Priced at the highest multiplier the request may be served at.
		mult = catalog.CloudMultiplier
	}
	prompt := catalog.EstimateTokens(req.PromptBytes)
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = int64(m.MaxOutputTokens)
	}
	n := max(req.N, 1)
	hold := catalog.Hold(prompt, maxTokens, n, m.CreditsPer1KTokens, mult)
	minHold := catalog.Hold(prompt, 1, n, m.CreditsPer1KTokens, mult)
	// A refusal of this hold is the client's 402: the wallet raises the
	// account's credits_exhausted alert with it, once per credit period,
	// in the same store call (no round trip, no database access of its own
	// in Redis mode).
	wh := wallet.Hold{RequestID: req.RequestID, Account: p.Account, Amount: hold, MinAmount: minHold, Lease: a.Lease, AlertOnRefusal: true}
	limit := ratelimit.PerMinute(p.Plan.RateLimitPerMinute)
	var early *capacity.Early
	if req.Early != nil && a.Store.EarlySlots() {
		early = req.Early(m)
	}
	r := a.Store.AllowReserve(ctx, rateKey(p.Account), limit, wh, early)
	refused := r.LimitErr != nil || !r.Decision.Allowed
	if refused && r.Held {
		// The hold travelled with the rate limit: give it back before the
		// answer (on failure, its lease frees it).
		if _, err := a.Wallet.Release(ctx, p.Account, req.RequestID); err != nil {
			a.log().Warn("releasing the hold of a refused request failed; its lease will free it", "request_id", req.RequestID, "err", err)
		}
	}
	if refused || r.ReserveErr != nil {
		early.Cancel()
	}
	if r.LimitErr != nil {
		return nil, d, unavailable(r.LimitErr)
	}
	rl := r.Decision
	d.RateLimit = rl
	if !rl.Allowed {
		return nil, d, &Refusal{Status: 429, Code: "rate_limit_exceeded", Type: "requests", RetryAfter: rl.RetryAfter,
			Message: fmt.Sprintf("Rate limit reached for requests per minute (RPM): limit %d. Please try again in %ds.", rl.Limit, RetryAfterSeconds(rl.RetryAfter))}
	}
	granted := r.Granted
	if err := r.ReserveErr; err != nil {
		if avail, ok := wallet.AvailableCredits(err); ok {
			return nil, d, &Refusal{Status: 402, Code: "insufficient_quota", Type: "insufficient_quota", Balance: avail, NoRetry: true}
		}
		return nil, d, unavailable(err)
	}
	if granted < hold {
		// The balance pays for less than the client asked: lower max_tokens
		// upstream to what the hold covers.
		maxTokens = catalog.AffordableMaxTokens(granted, prompt, n, m.CreditsPer1KTokens, mult)
	}
	t := &Ticket{
		RequestID: req.RequestID, Account: p.Account, Model: m, MaxTokens: maxTokens,
		Held: granted, PromptEstimate: prompt, Early: early, store: a.Store, wallet: a.Wallet, log: a.log(),
		lease: wallet.LeaseOrDefault(a.Lease),
	}
	t.startRenewal()
	return t, d, nil
}

func (a *Admission) log() *slog.Logger {
	if a.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Log
}

func rateKey(a resayil.AccountID) string { return fmt.Sprintf("acct:%d", a) }

// RetryAfterSeconds rounds a wait up to whole seconds (at least 1), the
// unit of the Retry-After header.
func RetryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// ErrUnavailable wraps store failures: the gateway answers 503 and never
// serves a request it could not account for.
var ErrUnavailable = errors.New("admission: a store is unavailable")

func unavailable(err error) error { return fmt.Errorf("%w: %w", ErrUnavailable, err) }
