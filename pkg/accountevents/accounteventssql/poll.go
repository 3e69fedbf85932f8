package accounteventssql

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
)

// maxGaps bounds the ids a subscription waits for. More missing ids than
// this means something other than in-flight transactions (an
// auto_increment_increment above 1, a bulk delete); the oldest are dropped.
const maxGaps = 1000

// cursor is one subscription's position; it survives reconnects.
type cursor struct {
	started bool
	last    int64               // highest id read
	gaps    map[int64]time.Time // missing ids below last, by when first missed
	lastOK  time.Time           // end of the last successful poll
	// checkpoints record the cursor over time; rows at or below the cursor
	// of a checkpoint older than Retention have been visible that long.
	checkpoints []checkpoint
}

type checkpoint struct {
	at   time.Time
	last int64
}

type row struct {
	id int64
	ev accountevents.Event
}

// Subscribe implements accountevents.Subscriber.
func (b *Bus) Subscribe(ctx context.Context, handle func(accountevents.Event)) error {
	if handle == nil {
		return errors.New("accounteventssql: nil handler")
	}
	c := &cursor{gaps: map[int64]time.Time{}}
	accountevents.KeepAlive(ctx, b.cfg.Backoff,
		func(ctx context.Context, connected func()) error { return b.session(ctx, c, connected, handle) },
		func(err error, wait time.Duration) {
			b.cfg.Logger.Warn("account events poll failed; retrying", "err", err, "retry_in", wait)
		})
	return nil
}

func (b *Bus) session(ctx context.Context, c *cursor, connected func(), handle func(accountevents.Event)) error {
	if !c.started {
		var last int64
		if err := b.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM account_events`).Scan(&last); err != nil {
			return fmt.Errorf("read last event id: %w", err)
		}
		c.started, c.last, c.lastOK = true, last, b.now()
		c.checkpoints = []checkpoint{{at: c.lastOK, last: last}}
		connected()
		handle(accountevents.Resync(b.now()))
	}
	t := time.NewTicker(b.cfg.PollInterval)
	defer t.Stop()
	for {
		// Rows newer than what we read may have been pruned by other
		// subscriptions while we could not read: caches must start over.
		stale := b.now().Sub(c.lastOK) > b.cfg.Retention/2
		rows, err := b.poll(ctx, c)
		if err != nil {
			return err
		}
		connected()
		if stale {
			clear(c.gaps)
			handle(accountevents.Resync(b.now()))
		}
		for _, r := range rows {
			handle(r.ev)
		}
		b.prune(ctx, c)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

const selectCols = `SELECT id, kind, account_id, subject, created_at FROM account_events`

// poll reads every row visible past the cursor and the gaps that have
// appeared, in id order, and advances the cursor only once all reads
// succeeded, so a failed poll is simply repeated.
func (b *Bus) poll(ctx context.Context, c *cursor) ([]row, error) {
	now := b.now()
	last := c.last
	gaps := make(map[int64]time.Time, len(c.gaps))
	for id, at := range c.gaps {
		if now.Sub(at) < b.cfg.GapTimeout {
			gaps[id] = at
		}
	}
	var out []row
	for {
		batch, err := b.query(ctx, selectCols+` WHERE id > ? ORDER BY id LIMIT ?`, last, b.cfg.BatchSize)
		if err != nil {
			return nil, err
		}
		for _, r := range batch {
			for id := max(last+1, r.id-maxGaps); id < r.id; id++ {
				gaps[id] = now
			}
			last = r.id
		}
		out = append(out, batch...)
		if len(batch) < b.cfg.BatchSize {
			break
		}
	}
	// Looked up after the main query: a row that committed late and is
	// older than one we just read is visible by now (its transaction ended
	// before the newer row's, for a caller publishing one after another).
	if len(gaps) > 0 {
		ids := trimGaps(gaps)
		found, err := b.query(ctx, selectCols+` WHERE id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`)`, toArgs(ids)...)
		if err != nil {
			return nil, err
		}
		for _, r := range found {
			delete(gaps, r.id)
		}
		out = append(out, found...)
		slices.SortFunc(out, func(a, b row) int { return cmp.Compare(a.id, b.id) })
	}
	c.last, c.gaps, c.lastOK = last, gaps, b.now()
	return out, nil
}

func (b *Bus) query(ctx context.Context, q string, args ...any) ([]row, error) {
	rs, err := b.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("poll account events: %w", err)
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var (
			r       row
			kind    string
			account sql.NullInt64
		)
		if err := rs.Scan(&r.id, &kind, &account, &r.ev.Subject, &r.ev.At); err != nil {
			return nil, fmt.Errorf("scan account event: %w", err)
		}
		r.ev.Kind = accountevents.Kind(kind)
		r.ev.Account = resayil.AccountID(account.Int64)
		r.ev.At = r.ev.At.UTC()
		out = append(out, r)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("poll account events: %w", err)
	}
	return out, nil
}

// trimGaps drops the lowest ids beyond maxGaps and returns the rest sorted.
func trimGaps(gaps map[int64]time.Time) []int64 {
	ids := make([]int64, 0, len(gaps))
	for id := range gaps {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids[:max(0, len(ids)-maxGaps)] {
		delete(gaps, id)
	}
	return ids[max(0, len(ids)-maxGaps):]
}

func toArgs(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}

// prune records a checkpoint every PruneEvery and deletes the rows that were
// already visible at the newest checkpoint older than Retention. Several
// subscriptions pruning the same rows is harmless. Failures are only logged:
// pruning can wait for the next round.
func (b *Bus) prune(ctx context.Context, c *cursor) {
	now := b.now()
	if now.Sub(c.checkpoints[len(c.checkpoints)-1].at) < b.cfg.PruneEvery {
		return
	}
	c.checkpoints = append(c.checkpoints, checkpoint{at: now, last: c.last})
	upTo := int64(-1)
	keep := c.checkpoints[:0]
	for i, cp := range c.checkpoints {
		// Keep the newest expired checkpoint so the next round has one.
		if now.Sub(cp.at) >= b.cfg.Retention && i+1 < len(c.checkpoints) && now.Sub(c.checkpoints[i+1].at) >= b.cfg.Retention {
			continue
		}
		if now.Sub(cp.at) >= b.cfg.Retention {
			upTo = cp.last
		}
		keep = append(keep, cp)
	}
	c.checkpoints = keep
	if upTo <= 0 {
		return
	}
	if _, err := b.db.ExecContext(ctx, `DELETE FROM account_events WHERE id <= ?`, upTo); err != nil {
		b.cfg.Logger.Warn("prune account events failed", "err", err)
	}
}
