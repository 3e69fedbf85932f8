package keyauth

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// UsageMarker records when keys were last used. keystore.Store implements it.
type UsageMarker interface {
	// MarkUsed sets the last-used time of every key in ids to at (never
	// moving it backwards). ids holds no duplicates. An error means none or
	// only some were written; the caller tries them all again later.
	MarkUsed(ctx context.Context, ids []resayil.APIKeyID, at time.Time) error
}

// LastUsedConfig tunes a LastUsedFlusher. Zero fields take the defaults.
type LastUsedConfig struct {
	// Interval between flushes (default 10 s).
	Interval time.Duration
	// Timeout bounds one MarkUsed call (default 5 s).
	Timeout time.Duration
	// Now is the clock that stamps a batch (default time.Now).
	Now func() time.Time
	// Ticks, when set, replaces the Interval ticker: each receive flushes.
	// Tests send on it instead of waiting.
	Ticks <-chan time.Time
	// Logger reports failed flushes (default: discarded).
	Logger *slog.Logger
}

// LastUsedFlusher collects the ids of keys that authenticated requests used
// and writes their last-used time in one batch per interval, off the request
// path: a warm request makes no database write (docs/architecture.md
// "Dependency rules"). Close flushes what is left (invariant 7).
type LastUsedFlusher struct {
	store UsageMarker
	cfg   LastUsedConfig

	mu      sync.Mutex
	pending map[resayil.APIKeyID]struct{}

	// flushMu serializes flushes; spare and ids are reused between them.
	flushMu sync.Mutex
	spare   map[resayil.APIKeyID]struct{}
	ids     []resayil.APIKeyID

	stop      chan struct{}
	stopped   chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// NewLastUsedFlusher starts a flusher that writes to store every interval
// until Close.
func NewLastUsedFlusher(store UsageMarker, cfg LastUsedConfig) *LastUsedFlusher {
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	f := &LastUsedFlusher{
		store:   store,
		cfg:     cfg,
		pending: make(map[resayil.APIKeyID]struct{}),
		spare:   make(map[resayil.APIKeyID]struct{}),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go f.loop()
	return f
}

// Touch records that key id was used now. It is cheap and never blocks on
// the store.
func (f *LastUsedFlusher) Touch(id resayil.APIKeyID) {
	f.mu.Lock()
	f.pending[id] = struct{}{}
	f.mu.Unlock()
}

func (f *LastUsedFlusher) loop() {
	defer close(f.stopped)
	ticks := f.cfg.Ticks
	if ticks == nil {
		t := time.NewTicker(f.cfg.Interval)
		defer t.Stop()
		ticks = t.C
	}
	for {
		select {
		case <-f.stop:
			return
		case <-ticks:
			ctx, cancel := context.WithTimeout(context.Background(), f.cfg.Timeout)
			if err := f.Flush(ctx); err != nil {
				f.cfg.Logger.Warn("update api key last-used times", "err", err)
			}
			cancel()
		}
	}
}

// Flush writes the ids touched since the last flush, in one MarkUsed call
// stamped with the current time. When it fails the ids are kept for the next
// flush.
func (f *LastUsedFlusher) Flush(ctx context.Context) error {
	f.flushMu.Lock()
	defer f.flushMu.Unlock()
	f.mu.Lock()
	batch := f.pending
	f.pending = f.spare
	f.mu.Unlock()
	if len(batch) == 0 {
		f.spare = batch
		return nil
	}
	f.ids = f.ids[:0]
	for id := range batch {
		f.ids = append(f.ids, id)
	}
	slices.Sort(f.ids)
	err := f.store.MarkUsed(ctx, f.ids, f.cfg.Now())
	if err != nil {
		// Put the batch back: a later flush writes a later time, which is
		// what last-used means anyway.
		f.mu.Lock()
		for id := range batch {
			f.pending[id] = struct{}{}
		}
		f.mu.Unlock()
	}
	clear(batch)
	f.spare = batch
	return err
}

// Close stops the periodic flushes and flushes what is left within ctx. It
// is safe to call more than once; later calls return the first result.
// Touches after Close are kept in memory only.
func (f *LastUsedFlusher) Close(ctx context.Context) error {
	f.closeOnce.Do(func() {
		close(f.stop)
		<-f.stopped
		if err := f.Flush(ctx); err != nil {
			f.closeErr = fmt.Errorf("flush api key last-used times: %w", err)
		}
	})
	return f.closeErr
}
