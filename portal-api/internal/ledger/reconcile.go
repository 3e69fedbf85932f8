package ledger

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Reconciler defaults.
const (
	// DefaultMinAge leaves a fresh row to the command that committed it,
	// which applies it itself a moment later; retrying it at once would be
	// harmless (Credit is idempotent) but noisy.
	DefaultMinAge = 5 * time.Second
	// DefaultBatch is how many rows one query of a pass reads.
	DefaultBatch = 200
	// DefaultInterval is a sensible period for Run.
	DefaultInterval = 10 * time.Second
)

// ReconcilerConfig tunes a Reconciler; only Store and Live are required.
type ReconcilerConfig struct {
	Store Store
	Live  LiveWallet
	// MinAge: only rows at least this old are retried. Default DefaultMinAge.
	MinAge time.Duration
	// Batch: rows read per query. Default DefaultBatch.
	Batch int
	Now   func() time.Time
	Log   *slog.Logger
}

// Reconciler applies to the live (Redis) wallet the grants that are
// committed to the ledger but not yet live: a grant whose process died, or
// whose Redis call failed, between the commit and the live apply
// (docs/architecture.md "Two ways to run"). Each retry is
// walletredis Credit by the row's reference, so a grant that did reach
// Redis and only missed its live_applied_at is not applied again.
type Reconciler struct {
	store  Store
	live   LiveWallet
	minAge time.Duration
	batch  int
	now    func() time.Time
	log    *slog.Logger
}

// ReconcileResult counts what one pass did.
type ReconcileResult struct {
	// Applied grants changed the live balance in this pass.
	Applied int
	// AlreadyLive grants were in Redis already and were only marked.
	AlreadyLive int
	// Failed grants stay pending for the next pass.
	Failed int
}

// NewReconciler returns a Reconciler.
func NewReconciler(cfg ReconcilerConfig) (*Reconciler, error) {
	if cfg.Store == nil || cfg.Live == nil {
		return nil, errors.New("ledger: a reconciler needs a Store and a live wallet")
	}
	r := &Reconciler{store: cfg.Store, live: cfg.Live, minAge: cfg.MinAge, batch: cfg.Batch, now: cfg.Now, log: cfg.Log}
	if r.minAge <= 0 {
		r.minAge = DefaultMinAge
	}
	if r.batch <= 0 {
		r.batch = DefaultBatch
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// Pass applies every pending row that is at least MinAge old, once. A row
// that fails is counted and left for the next pass; the error returned is
// the last such failure, or a failure to read the pending rows.
func (r *Reconciler) Pass(ctx context.Context) (ReconcileResult, error) {
	var res ReconcileResult
	var lastErr error
	now := clock(r.now)
	before := now.Add(-r.minAge)
	var after int64
	for {
		rows, err := r.store.PendingLive(ctx, before, after, r.batch)
		if err != nil {
			return res, err
		}
		for _, e := range rows {
			after = e.ID
			applied, err := applyLive(ctx, r.store, r.live, e.Grant(), now)
			switch {
			case err != nil:
				res.Failed++
				lastErr = err
				r.log.Warn("ledger reconcile: grant still not live", "reference", e.Reference, "account", e.Account, "err", err)
			case applied:
				res.Applied++
				r.log.Info("ledger reconcile: grant applied to the live wallet", "reference", e.Reference, "account", e.Account, "credits", e.Amount)
			default:
				res.AlreadyLive++
			}
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
		}
		if len(rows) < r.batch {
			return res, lastErr
		}
	}
}

// Run makes a pass every interval (DefaultInterval when not positive) until
// ctx ends, logging failures, and then returns nil. portal-api serve runs it
// in Redis mode.
func (r *Reconciler) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := r.Pass(ctx); err != nil && ctx.Err() == nil {
			r.log.Error("ledger reconcile pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
