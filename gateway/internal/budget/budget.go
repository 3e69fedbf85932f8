// Package budget is the gateway's view of the daily cloud budget: it takes
// one request of today's budget (Asia/Kuwait day, from an injectable clock)
// before a request goes to the cloud, keeps a cached state so that the
// router can ask "is there room" without a round trip, and, in the
// background, records the 80 % and 100 % admin alerts in the notification
// outbox and (Redis mode) mirrors the day into cloud_budget_days. Nothing
// here writes to the database on the request path.
package budget

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/resayil/portal/pkg/cloudbudget"
)

// Outbox records alerts and mirrors days (cloudbudgetsql.Outbox).
type Outbox interface {
	// RecordAlert records th for st.Day once; true when this call did.
	RecordAlert(ctx context.Context, st cloudbudget.State, th cloudbudget.Threshold) (bool, error)
	// Mirror copies st into the day's database row.
	Mirror(ctx context.Context, st cloudbudget.State) error
}

// DefaultRefresh is how often the cached state is re-read without an
// event: a cap raised through portal-api reaches the router within it
// even if its cloud_budget_changed event was lost.
const DefaultRefresh = 5 * time.Second

// Config configures a Budget.
type Config struct {
	Store cloudbudget.Store
	// Outbox, when set, receives the alerts (and mirrors when Mirror).
	Outbox Outbox
	// Mirror copies each day into the database (Redis mode, where the
	// counter lives in Redis).
	Mirror bool
	// Now is the clock that says which day it is; nil means time.Now.
	Now     func() time.Time
	Refresh time.Duration
	Log     *slog.Logger
}

// Budget is safe for concurrent use.
type Budget struct {
	cfg    Config
	cached atomic.Pointer[cloudbudget.State]
	poke   chan struct{}

	mu       sync.Mutex
	recorded map[cloudbudget.Threshold]cloudbudget.Day
	mirrored cloudbudget.State
}

// New returns a Budget; call Run for alerts and refreshes.
func New(cfg Config) *Budget {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultRefresh
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Budget{cfg: cfg, poke: make(chan struct{}, 1), recorded: map[cloudbudget.Threshold]cloudbudget.Day{}}
}

// Today is the current Kuwait day.
func (b *Budget) Today() cloudbudget.Day { return cloudbudget.DayOf(b.cfg.Now()) }

// Room reports from the cached state whether today's budget has room; a
// state not known for today counts as room (Take decides exactly).
func (b *Budget) Room() bool {
	st := b.cached.Load()
	if st == nil || st.Day != b.Today() {
		b.Poke()
		return true
	}
	return st.Room()
}

// State returns the cached state and whether it is today's.
func (b *Budget) State() (cloudbudget.State, bool) {
	st := b.cached.Load()
	if st == nil {
		return cloudbudget.State{Day: b.Today()}, false
	}
	return *st, st.Day == b.Today()
}

// remember caches st and wakes the background loop when st reached a
// threshold this process has not recorded yet.
func (b *Budget) remember(st cloudbudget.State) {
	b.cached.Store(&st)
	if !st.Reached(cloudbudget.Alert80) || b.cfg.Outbox == nil {
		return
	}
	b.mu.Lock()
	pending := b.recorded[cloudbudget.Alert80] != st.Day || (st.Reached(cloudbudget.Alert100) && b.recorded[cloudbudget.Alert100] != st.Day)
	b.mu.Unlock()
	if pending {
		b.Poke()
	}
}

// Take counts one cloud request on today's budget; false means the budget
// is exhausted. Store failures come back as errors (resayil.EUNAVAILABLE).
func (b *Budget) Take(ctx context.Context) (cloudbudget.State, bool, error) {
	st, ok, err := b.cfg.Store.Take(ctx, b.Today())
	if err != nil {
		return st, false, err
	}
	b.remember(st)
	return st, ok, nil
}

// Refund gives back a request taken today that never reached the cloud.
func (b *Budget) Refund(ctx context.Context, day cloudbudget.Day) {
	st, err := b.cfg.Store.Refund(ctx, day)
	if err != nil {
		b.cfg.Log.Warn("cloud budget: refund", "day", day, "err", err)
		return
	}
	if day == b.Today() {
		b.cached.Store(&st)
	}
}

// Poke asks the background loop to re-read the state now (an account
// event said the cap changed, or a threshold may have been crossed).
func (b *Budget) Poke() {
	select {
	case b.poke <- struct{}{}:
	default:
	}
}

// Refresh re-reads today's state and records what it shows.
func (b *Budget) Refresh(ctx context.Context) (cloudbudget.State, error) {
	st, err := b.cfg.Store.Get(ctx, b.Today())
	if err != nil {
		return st, err
	}
	b.cached.Store(&st)
	b.record(ctx, st)
	return st, nil
}

// record writes the alerts st has reached (once per day and threshold in
// this process; the outbox's dedupe key makes it once across replicas)
// and mirrors st.
func (b *Budget) record(ctx context.Context, st cloudbudget.State) {
	if b.cfg.Outbox == nil {
		return
	}
	for _, th := range cloudbudget.Thresholds {
		if !st.Reached(th) {
			continue
		}
		b.mu.Lock()
		done := b.recorded[th] == st.Day
		b.mu.Unlock()
		if done {
			continue
		}
		inserted, err := b.cfg.Outbox.RecordAlert(ctx, st, th)
		if err != nil {
			b.cfg.Log.Warn("cloud budget: record alert; retrying at the next refresh", "threshold", int(th), "day", st.Day, "err", err)
			continue
		}
		b.mu.Lock()
		b.recorded[th] = st.Day
		b.mu.Unlock()
		if inserted {
			b.cfg.Log.Warn("cloud budget alert", "threshold", int(th), "day", st.Day, "used", st.Used, "cap", st.Cap)
		}
	}
	if b.cfg.Mirror {
		b.mu.Lock()
		same := b.mirrored == st
		b.mu.Unlock()
		if !same {
			if err := b.cfg.Outbox.Mirror(ctx, st); err != nil {
				b.cfg.Log.Warn("cloud budget: mirror the day into the database", "day", st.Day, "err", err)
				return
			}
			b.mu.Lock()
			b.mirrored = st
			b.mu.Unlock()
		}
	}
}

// Run refreshes the state every Refresh and when poked, recording alerts,
// until ctx ends.
func (b *Budget) Run(ctx context.Context) {
	t := time.NewTicker(b.cfg.Refresh)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if _, err := b.Refresh(rctx); err != nil && ctx.Err() == nil {
			b.cfg.Log.Warn("cloud budget: refresh", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.poke:
		}
	}
}
