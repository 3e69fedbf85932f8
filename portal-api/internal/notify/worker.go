package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/whatsapp"
)

// Defaults of Config.
const (
	DefaultBatch       = 20
	DefaultLease       = 5 * time.Minute
	DefaultMaxAttempts = 8
	DefaultBackoffBase = 10 * time.Second
	DefaultBackoffMax  = time.Hour
	DefaultProbeEvery  = time.Minute
	DefaultSendTimeout = 30 * time.Second
)

// Config builds a Worker.
type Config struct {
	Store  Store
	Sender Sender
	// AdminPhones are RESAYIL_ADMIN_PHONES: recipients of every admin
	// notification besides the admin users.
	AdminPhones []string
	// Now is the clock of due times, leases and pauses; nil is time.Now.
	Now func() time.Time
	// Rand draws the jitter of retries, in [0, 1); nil is math/rand/v2.
	Rand func() float64
	Log  *slog.Logger
	// Batch is how many deliveries (and outbox rows) one pass claims.
	Batch int
	// Lease is how long a claimed batch is a worker's: it should outlast
	// sending Batch messages (SendTimeout each); a worker stops sending
	// its batch when a send could outlast the lease. A lease that runs out
	// (a crashed worker) makes its deliveries due again, so at most the
	// one delivery being sent when the worker died is sent twice.
	Lease time.Duration
	// MaxAttempts: a delivery that failed this many times for reasons
	// worth retrying fails for good.
	MaxAttempts int
	// BackoffBase and BackoffMax bound the wait between attempts
	// (whatsapp.Backoff, exponential with full jitter).
	BackoffBase, BackoffMax time.Duration
	// ProbeEvery is how often, while sending is paused, one delivery is
	// tried to learn whether the sender works again.
	ProbeEvery time.Duration
	// SendTimeout bounds one message to Meta.
	SendTimeout time.Duration
}

// Worker expands the outbox and sends deliveries. Any number of workers,
// in one process or many, may run on one database.
type Worker struct {
	cfg Config
	log *slog.Logger
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*Worker, error) {
	if cfg.Store == nil || cfg.Sender == nil {
		return nil, errors.New("notify: a store and a sender are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.Lease, DefaultLease)
	def(&cfg.BackoffBase, DefaultBackoffBase)
	def(&cfg.BackoffMax, DefaultBackoffMax)
	def(&cfg.ProbeEvery, DefaultProbeEvery)
	def(&cfg.SendTimeout, DefaultSendTimeout)
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.Lease < cfg.SendTimeout {
		return nil, fmt.Errorf("notify: the lease (%s) must cover at least one send (%s)", cfg.Lease, cfg.SendTimeout)
	}
	return &Worker{cfg: cfg, log: cfg.Log}, nil
}

// Pass counts what one RunOnce did.
type Pass struct {
	// Expanded and Skipped count outbox rows.
	Expanded, Skipped int
	// Claimed deliveries became Sent, Retried (pending again later),
	// Failed, or Released (pending again at once, no attempt counted:
	// sending paused or the worker is stopping).
	Claimed, Sent, Retried, Failed, Released int
	// Expired counts claimed deliveries left unsent because the lease
	// was about to end (they are due again when it does).
	Expired int
	// Probe: sending was paused and this pass tried one delivery.
	Probe bool
	// Paused: sending is paused at the end of the pass.
	Paused bool
	// Resumed: this pass's probe succeeded and ended the pause.
	Resumed bool
}

// RunOnce expands the due outbox rows, then claims one batch of due
// deliveries (one delivery when sending is paused and a probe is due,
// none when paused otherwise) and sends it.
func (w *Worker) RunOnce(ctx context.Context) (Pass, error) {
	var p Pass
	if err := w.expand(ctx, &p); err != nil {
		return p, err
	}
	st, err := w.cfg.Store.State(ctx)
	if err != nil {
		return p, err
	}
	limit := w.cfg.Batch
	if st.Paused() {
		p.Paused = true
		ok, err := w.cfg.Store.ClaimProbe(ctx, w.now(), w.cfg.ProbeEvery)
		if err != nil || !ok {
			return p, err
		}
		p.Probe, limit = true, 1
	}
	now := w.now()
	leaseUntil := now.Add(w.cfg.Lease)
	jobs, err := w.cfg.Store.ClaimDeliveries(ctx, now, leaseUntil, limit)
	if err != nil {
		return p, err
	}
	p.Claimed = len(jobs)
	for i, j := range jobs {
		if ctx.Err() != nil || (p.Paused && !p.Probe) {
			// Stopping, or this batch paused sending: the rest go back
			// untouched (no attempt counted) for a later pass.
			return p, w.release(ctx, jobs[i:], &p)
		}
		if w.now().Add(w.cfg.SendTimeout).After(leaseUntil) {
			// The lease could end mid-send, and another worker may
			// already have the rest: leave them to whoever claims them
			// when the lease ends, so that no more than the one message a
			// crash interrupts is ever sent twice.
			p.Expired = len(jobs) - i
			w.log.Warn("notification lease ran out before the batch was sent; the rest is sent after it", "left", p.Expired, "lease", w.cfg.Lease)
			return p, nil
		}
		if err := w.deliver(ctx, j, &p); err != nil {
			return p, errors.Join(err, w.release(ctx, jobs[i+1:], &p))
		}
	}
	return p, nil
}

// Run runs passes until ctx ends: one each tick, more at once while a
// pass fills its batch (a backlog drains without waiting for ticks).
// The message being sent when ctx ends is finished and recorded; the
// rest of its batch is released. It returns nil.
func (w *Worker) Run(ctx context.Context, tick time.Duration) error {
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			p, err := w.RunOnce(ctx)
			if err != nil && ctx.Err() == nil {
				w.log.Error("notifications pass failed; retried next tick", "err", err)
				break
			}
			if p.Paused || p.Expired > 0 || p.Claimed < w.cfg.Batch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (w *Worker) now() time.Time { return w.cfg.Now() }

// expand turns due outbox rows into deliveries, a batch of rows per
// transaction, until none is due.
func (w *Worker) expand(ctx context.Context, p *Pass) error {
	for {
		var n, expanded, skipped int
		err := w.cfg.Store.ExpandTx(ctx, func(tx ExpandTx) error {
			n, expanded, skipped = 0, 0, 0 // the transaction may run again
			now := w.now()
			rows, err := tx.DueNotifications(ctx, now, w.cfg.Batch)
			if err != nil {
				return err
			}
			n = len(rows)
			for _, row := range rows {
				cands, err := tx.Candidates(ctx, row)
				if err != nil {
					return err
				}
				to, why := Recipients(row, cands, w.cfg.AdminPhones)
				if len(to) == 0 {
					if err := tx.Skip(ctx, row, why, now); err != nil {
						return err
					}
					skipped++
					continue
				}
				if err := tx.Expand(ctx, row, to, now); err != nil {
					return err
				}
				expanded++
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("expand notifications: %w", err)
		}
		p.Expanded += expanded
		p.Skipped += skipped
		if n < w.cfg.Batch || ctx.Err() != nil {
			return nil
		}
	}
}

// deliver sends one job and records its outcome. Recording is not
// cancelled with ctx: a message Meta accepted is recorded as sent even
// while the worker stops.
func (w *Worker) deliver(ctx context.Context, j Job, p *Pass) error {
	rec := context.WithoutCancel(ctx)
	d := j.Delivery
	msg, err := Message(j)
	if err != nil {
		p.Failed++
		w.log.Warn("notification cannot be sent", "delivery", d.ID, "event", j.Notification.Event, "err", err)
		return w.cfg.Store.RecordFailed(rec, d.ID, err.Error(), w.now())
	}
	sendCtx, cancel := context.WithTimeout(rec, w.cfg.SendTimeout)
	id, err := w.cfg.Sender.SendTemplate(sendCtx, msg)
	cancel()
	now := w.now()
	if err == nil {
		p.Sent++
		if err := w.cfg.Store.RecordSent(rec, d.ID, id, now); err != nil {
			return err
		}
		if p.Probe {
			resumed, err := w.cfg.Store.Resume(rec, now)
			if err != nil {
				return err
			}
			p.Paused, p.Resumed = false, resumed
			if resumed {
				w.log.Info("WhatsApp sending resumed: a probe message was accepted", "delivery", d.ID)
			}
		}
		return nil
	}
	attempt := d.Attempts + 1
	switch whatsapp.Classify(err) {
	case whatsapp.Paused:
		p.Released++
		if err := w.cfg.Store.Release(rec, d.ID, now); err != nil {
			return err
		}
		p.Paused = true
		return w.pause(rec, err, now)
	case whatsapp.Permanent:
		p.Failed++
		w.log.Warn("notification refused by WhatsApp", "delivery", d.ID, "event", j.Notification.Event, "err", err)
		return w.cfg.Store.RecordFailed(rec, d.ID, err.Error(), now)
	}
	if attempt >= w.cfg.MaxAttempts {
		p.Failed++
		w.log.Warn("notification failed after its last attempt", "delivery", d.ID, "event", j.Notification.Event, "attempts", attempt, "err", err)
		return w.cfg.Store.RecordFailed(rec, d.ID, fmt.Sprintf("gave up after %d attempts: %v", attempt, err), now)
	}
	p.Retried++
	next := now.Add(whatsapp.Backoff(err, attempt, w.cfg.BackoffBase, w.cfg.BackoffMax, w.cfg.Rand))
	return w.cfg.Store.RecordRetry(rec, d.ID, next, err.Error(), now)
}

// pause records that Meta refuses the sender. Only the call that pauses
// raises the admin alert and logs the error; the others (a probe that
// failed again, a second worker) log a warning.
func (w *Worker) pause(ctx context.Context, cause error, now time.Time) error {
	reason := cause.Error()
	data := map[string]any{"paused_at": now.UTC().Format(time.RFC3339Nano)}
	var we *whatsapp.Error
	if errors.As(cause, &we) {
		data["code"] = we.Code
	}
	alert := Alert{
		DedupeKey: EventWhatsAppPaused + ":" + strconv.FormatInt(now.UnixNano(), 10),
		Event:     EventWhatsAppPaused, Params: []string{paramText(reason, 300)}, Data: data,
	}
	paused, err := w.cfg.Store.Pause(ctx, reason, alert, now)
	if err != nil {
		return err
	}
	if paused {
		w.log.Error("WhatsApp sending PAUSED: Meta refuses the sender; queued notifications wait and keep their attempts. Fix RESAYIL_WHATSAPP_TOKEN (or the account) and sending resumes by itself at the next probe, or POST /api/v1/admin/notifier/resume",
			"reason", reason, "probe_every", w.cfg.ProbeEvery)
	} else {
		w.log.Warn("WhatsApp sending still paused", "reason", reason)
	}
	return nil
}

// paramText makes s a template parameter: one line, single spaces (Graph
// refuses new-lines, tabs and runs of spaces), at most n characters.
func paramText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		s = string(r[:n-1]) + "…"
	}
	return s
}

// release gives claimed jobs back untouched.
func (w *Worker) release(ctx context.Context, jobs []Job, p *Pass) error {
	rec := context.WithoutCancel(ctx)
	var errs []error
	for _, j := range jobs {
		if err := w.cfg.Store.Release(rec, j.Delivery.ID, w.now()); err != nil {
			errs = append(errs, err)
			continue
		}
		p.Released++
	}
	return errors.Join(errs...)
}
