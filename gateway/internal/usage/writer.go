package usage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/dbtime"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// Writer moves usage events from the Redis streams to the database until
// Close. See the package doc.
type Writer struct {
	cfg    Config
	log    *slog.Logger
	rs     *streams
	store  *store
	redisO outage
	dbO    outage

	// stop is closed by Close: finish what was read, read no more.
	stop chan struct{}
	// ctx is cancelled when Close's context ends: give up on what was read
	// (it stays pending in Redis for another Writer).
	ctx     context.Context
	abandon context.CancelFunc
	done    chan struct{}

	closeOnce sync.Once
	// leftOver counts entries read but abandoned unwritten by Close.
	leftOver atomic.Int64

	// Loop state, touched only by run.
	groupsReady bool
	// ownPending is set at start (a Config.Consumer kept across restarts,
	// such as a pod name, may have entries pending from before) and when
	// a read or claim failed (Redis may have delivered entries to this
	// consumer and lost the reply, so they are pending here though this
	// Writer never saw them). Reading them back at once beats waiting
	// ClaimMinIdle for another Writer to claim them.
	ownPending bool
	nextClaim  time.Time
	cursors    []string

	written, duplicates, alerts, parked, batches, failedBatches, redisErrors, claimed, unpaid, lag atomic.Int64

	// Test hooks (export_test.go): run with the batch about to be written
	// and just committed (before the acknowledgement).
	beforeWrite, afterCommit func(ctx context.Context)
}

// New starts a Writer that reads the usage streams of rdb and writes to db,
// which must be migrated. It fails only on an invalid Config: Redis or the
// database being down is retried in the background.
func New(rdb redis.UniversalClient, db *database.DB, cfg Config) (*Writer, error) {
	w, err := newWriter(rdb, db, cfg)
	if err != nil {
		return nil, err
	}
	go w.run()
	return w, nil
}

func newWriter(rdb redis.UniversalClient, db *database.DB, cfg Config) (*Writer, error) {
	if rdb == nil || db == nil {
		return nil, errors.New("usage: a Redis client and a database are required")
	}
	keys, err := walletredis.NewKeys(cfg.Prefix, cfg.Shards)
	if err != nil {
		return nil, fmt.Errorf("usage: %w", err)
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	w := &Writer{
		cfg:   cfg,
		log:   cfg.Logger.With("component", "usage-writer", "consumer", cfg.Consumer),
		rs:    &streams{rdb: rdb, names: keys.Streams(), group: cfg.Group, consumer: cfg.Consumer, dead: DeadStream(cfg.Prefix)},
		store: newStore(db, cfg.TopUpURL),
		stop:  make(chan struct{}), ctx: ctx, abandon: cancel, done: make(chan struct{}),
	}
	w.redisO = outage{what: "redis", log: w.log, now: cfg.Now}
	w.dbO = outage{what: "database", log: w.log, now: cfg.Now}
	w.ownPending = true
	w.cursors = make([]string, len(w.rs.names))
	for i := range w.cursors {
		w.cursors[i] = "0-0"
	}
	return w, nil
}

// consumerName is unique per process and per Writer: two Writers under one
// name would share a pending list, and one could acknowledge what the other
// has not written.
func consumerName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "gateway"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Consumer returns this Writer's consumer name in the group.
func (w *Writer) Consumer() string { return w.cfg.Consumer }

// Close stops reading, writes and acknowledges what was already read, and
// leaves the group. If ctx ends first it returns an error and what was read
// but not written stays pending in Redis, where another Writer claims it
// after Config.ClaimMinIdle. Entries never read stay in the streams, unless
// Config.FlushOnClose is set. Close may be called more than once; later
// calls return what the first did.
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() { close(w.stop) })
	select {
	case <-w.done:
	case <-ctx.Done():
		w.abandon()
		<-w.done
	}
	if n := w.leftOver.Load(); n > 0 {
		return fmt.Errorf("usage: close: %d usage events read but not written stay pending for another writer", n)
	}
	return nil
}

// Stats returns the counters; safe to call at any time.
func (w *Writer) Stats() Stats {
	return Stats{
		Written: w.written.Load(), Duplicates: w.duplicates.Load(), Alerts: w.alerts.Load(), Parked: w.parked.Load(),
		Batches: w.batches.Load(), FailedBatches: w.failedBatches.Load(), RedisErrors: w.redisErrors.Load(),
		Claimed: w.claimed.Load(), Unpaid: resayil.Credits(w.unpaid.Load()), Lag: time.Duration(w.lag.Load()),
	}
}

// Backlog returns how many usage events wait in the streams, read or not:
// the usage the database does not have yet.
func (w *Writer) Backlog(ctx context.Context) (int64, error) { return w.rs.backlog(ctx) }

func (w *Writer) stopping() bool {
	select {
	case <-w.stop:
		return true
	default:
		return false
	}
}

// run is the Writer's one goroutine: claim, read, write, acknowledge.
func (w *Writer) run() {
	defer close(w.done)
	for attempt := 0; !w.stopping(); {
		if err := w.step(); err != nil {
			w.redisErrors.Add(1)
			w.redisO.fail(err)
			w.ownPending = true
			if isNoGroup(err) {
				w.groupsReady = false
			}
			if !w.pause(attempt, true) {
				break
			}
			attempt++
			continue
		}
		attempt = 0
	}
	if w.cfg.FlushOnClose && w.leftOver.Load() == 0 && !w.redisO.down {
		w.flushQueued()
	}
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.Timeout)
	defer cancel()
	// Leave only with nothing pending (the script checks again), and not
	// while Redis is known down, which would only delay Close.
	if w.leftOver.Load() == 0 && !w.redisO.down {
		if err := w.rs.leave(ctx); err != nil {
			w.log.Debug("leave consumer group", "err", err)
		}
	}
}

// step runs one round; an error is a Redis failure of the group, the claim
// or the read, before anything was taken.
func (w *Writer) step() error {
	if !w.groupsReady {
		if err := w.call(w.rs.ensureGroups); err != nil {
			return err
		}
		w.groupsReady = true
	}
	if w.ownPending {
		var got []entry
		err := w.call(func(ctx context.Context) error {
			var err error
			got, err = w.rs.readOwn(ctx, w.cfg.BatchSize)
			return err
		})
		if err != nil {
			return err
		}
		w.redisO.ok()
		if len(got) == 0 {
			w.ownPending = false
			return nil
		}
		w.log.Info("recovered usage delivered to this writer while Redis failed", "entries", len(got))
		w.leftOver.Add(int64(w.handle(got)))
		return nil
	}
	if now := w.cfg.Now(); !now.Before(w.nextClaim) {
		var (
			got  []entry
			more bool
		)
		err := w.call(func(ctx context.Context) error {
			var err error
			got, more, err = w.rs.claim(ctx, w.cursors, w.cfg.ClaimMinIdle, w.cfg.BatchSize)
			return err
		})
		if err != nil {
			return err
		}
		if err := w.call(func(ctx context.Context) error { return w.rs.prune(ctx, w.cfg.PruneIdle) }); err != nil {
			w.log.Debug("prune consumers", "err", err)
		}
		w.nextClaim = now.Add(w.cfg.ClaimInterval)
		if more {
			w.nextClaim = now // finish the backlog of claims first
		}
		w.redisO.ok()
		if len(got) > 0 {
			w.claimed.Add(int64(len(got)))
			w.log.Info("claimed usage left pending by another writer", "entries", len(got))
			w.leftOver.Add(int64(w.handle(got)))
			return nil
		}
	}
	// No timeout context here: the read blocks for FlushInterval, and
	// go-redis bounds it by that plus its own margin.
	got, err := w.rs.read(w.ctx, w.cfg.BatchSize, w.cfg.FlushInterval)
	if err != nil {
		if w.ctx.Err() != nil {
			return nil // abandoned: run's loop ends on stop
		}
		return err
	}
	w.redisO.ok()
	w.leftOver.Add(int64(w.handle(got)))
	if n := len(got); n > 0 && n < w.cfg.BatchSize && w.cfg.Linger > 0 {
		w.linger()
	}
	return nil
}

// linger pauses for Linger so that the next read takes what arrived
// meanwhile in one batch; Close or abandon ends it at once.
func (w *Writer) linger() {
	t := time.NewTimer(w.cfg.Linger)
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.stop:
	case <-w.ctx.Done():
	}
}

// flushQueued writes, once Close was called, the events waiting in the
// streams at that moment (Config.FlushOnClose): it reads without blocking
// until the streams are empty or it reaches events added after Close, and
// gives up at the first Redis error or when Close's context ends, leaving
// the rest to another Writer as Close does without the option.
func (w *Writer) flushQueued() {
	closedAt := w.cfg.Now()
	for w.ctx.Err() == nil {
		var got []entry
		err := w.call(func(ctx context.Context) error {
			var err error
			got, err = w.rs.readFrom(ctx, ">", w.cfg.BatchSize, -1)
			return err
		})
		if err != nil {
			if w.ctx.Err() == nil {
				w.redisErrors.Add(1)
				w.log.Warn("flush on close: usage left in the streams for another writer", "err", err)
			}
			return
		}
		if len(got) == 0 {
			return
		}
		if left := w.handle(got); left > 0 {
			w.leftOver.Add(int64(left))
			return
		}
		for _, e := range got {
			if t, ok := streamTime(e.msg.ID); ok && !t.Before(closedAt) {
				return // caught up with Close: what follows is other replicas' work
			}
		}
	}
}

// call runs a Redis operation with the per-command timeout.
func (w *Writer) call(fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(w.ctx, w.cfg.Timeout)
	defer cancel()
	return fn(ctx)
}

// handle records what was read: parks what cannot be recorded, writes the
// rest in batches, acknowledges each after its commit. It returns how many
// entries it did not finish because the Writer was abandoned; those stay
// pending in Redis.
func (w *Writer) handle(got []entry) (left int) {
	var (
		bad     []entry
		reasons []error
		gone    = map[string][]string{}
		recs    = make([]record, 0, len(got))
	)
	for _, e := range got {
		if e.msg.Values == nil {
			// Deleted after it was delivered (claimed on Redis < 7, which
			// reports holes as empty entries): nothing to write.
			gone[e.stream] = append(gone[e.stream], e.msg.ID)
			continue
		}
		r, err := decode(e)
		if err != nil {
			bad = append(bad, e)
			reasons = append(reasons, err)
			continue
		}
		recs = append(recs, r)
	}
	left = len(got)
	if len(gone) > 0 {
		if !w.ack(gone) {
			return left
		}
		left -= len(got) - len(bad) - len(recs)
	}
	if len(bad) > 0 {
		if !w.parkAll(bad, reasons) {
			return left
		}
		left -= len(bad)
	}
	for len(recs) > 0 {
		n := min(len(recs), w.cfg.BatchSize)
		if !w.writeBatch(recs[:n]) {
			return left
		}
		recs = recs[n:]
		left -= n
	}
	return 0
}

// parkAll moves entries to the dead-letter stream, retrying Redis failures;
// false means abandoned.
func (w *Writer) parkAll(bad []entry, reasons []error) bool {
	for attempt := 0; ; attempt++ {
		err := w.call(func(ctx context.Context) error { return w.rs.park(ctx, bad, reasons) })
		if err == nil {
			break
		}
		w.redisErrors.Add(1)
		w.redisO.fail(err)
		if !w.pause(attempt, false) {
			return false
		}
	}
	ids := map[string][]string{}
	for i, e := range bad {
		ids[e.stream] = append(ids[e.stream], e.msg.ID)
		w.log.Error("parked a usage event that cannot be recorded", "stream", e.stream, "id", e.msg.ID,
			"dead_stream", w.rs.dead, "err", reasons[i])
	}
	if !w.ack(ids) {
		return false
	}
	w.parked.Add(int64(len(bad)))
	return true
}

// writeBatch commits recs in one transaction, retrying with backoff while
// the database fails, then acknowledges them; false means abandoned.
func (w *Writer) writeBatch(recs []record) bool {
	rows := make([]walletredis.Usage, 0, len(recs))
	var alerts []wallet.Alert
	for _, r := range recs {
		if r.usage != nil {
			rows = append(rows, *r.usage)
		}
		if r.alert.Kind != wallet.NoAlert {
			alerts = append(alerts, r.alert)
		}
	}
	if w.beforeWrite != nil {
		w.beforeWrite(w.ctx)
	}
	var res batchResult
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(w.ctx, w.cfg.Timeout)
		var err error
		res, err = w.store.write(ctx, rows, alerts, dbtime.Of(w.cfg.Now()))
		cancel()
		if err == nil {
			break
		}
		if w.ctx.Err() != nil {
			return false
		}
		w.failedBatches.Add(1)
		w.dbO.fail(err)
		if !w.pause(attempt, false) {
			return false
		}
	}
	w.dbO.ok()
	w.batches.Add(1)
	w.written.Add(int64(res.written))
	w.duplicates.Add(int64(res.duplicates))
	w.alerts.Add(int64(res.alerts))
	for _, u := range res.unpaid {
		w.unpaid.Add(int64(u.unpaid))
		w.log.Error("durable balance could not pay a flushed debit; recorded the usage, debited what was left",
			"account", u.account, "debit", u.debit, "unpaid", u.unpaid)
	}
	if oldest, ok := streamTime(recs[0].id); ok {
		for _, r := range recs[1:] {
			if t, ok := streamTime(r.id); ok && t.Before(oldest) {
				oldest = t
			}
		}
		w.lag.Store(int64(w.cfg.Now().Sub(oldest)))
	}
	if w.afterCommit != nil {
		w.afterCommit(w.ctx)
	}
	ids := map[string][]string{}
	for _, r := range recs {
		ids[r.stream] = append(ids[r.stream], r.id)
	}
	return w.ack(ids)
}

// ack acknowledges and deletes entries, retrying Redis failures; false
// means abandoned (the entries stay pending; they are already written, so
// whoever claims them finds duplicates).
func (w *Writer) ack(ids map[string][]string) bool {
	for attempt := 0; ; attempt++ {
		err := w.call(func(ctx context.Context) error { return w.rs.ack(ctx, ids) })
		if err == nil {
			w.redisO.ok()
			return true
		}
		if w.ctx.Err() != nil {
			return false
		}
		w.redisErrors.Add(1)
		w.redisO.fail(err)
		if !w.pause(attempt, false) {
			return false
		}
	}
}

// pause waits before retry number attempt (0-based): MinBackoff doubling to
// MaxBackoff, with jitter so replicas do not retry in step. It returns false
// if the Writer is abandoned, or, when interruptible (nothing is held),
// stopped.
func (w *Writer) pause(attempt int, interruptible bool) bool {
	d := w.cfg.MinBackoff << min(attempt, 20)
	d = min(d, w.cfg.MaxBackoff)
	d = d/2 + jitter(d/2)
	t := time.NewTimer(d)
	defer t.Stop()
	stop := w.stop
	if !interruptible {
		stop = nil
	}
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	case <-w.ctx.Done():
		return false
	}
}
