package ledger

import (
	"context"
	"fmt"
	"time"

	"github.com/resayil/portal/pkg/resayil"
)

// Verify defaults.
const (
	DefaultRechecks     = 3
	DefaultRecheckDelay = 250 * time.Millisecond
	verifyBatch         = 500
	recordedBatch       = 500
)

// VerifyOptions tune Verify; the zero value is ready for use.
type VerifyOptions struct {
	// Rechecks is how many more times a live difference is read before it
	// is reported, Delay apart: a request settling or a grant being applied
	// while Verify reads Redis and the database can make one reading
	// disagree. Database differences are read in one statement per account
	// and are never re-read. Default DefaultRechecks; negative means none.
	Rechecks int
	// Delay is the pause before each recheck. Default DefaultRecheckDelay.
	Delay time.Duration
}

// Mismatch is one account whose numbers disagree.
type Mismatch struct {
	// Live is false for a database mismatch (balance is not grants minus
	// debits) and true for a Redis one (the live balance is not the durable
	// one less the grants not yet live and the usage not yet flushed).
	Live bool
	Totals
	// LiveBalance is the Redis balance (Live only).
	LiveBalance resayil.Credits
	// Unflushed is the usage still in the Redis streams (Live only).
	Unflushed resayil.Credits
	// Expected is what the balance should be: Grants - Debits, or
	// Balance - NotLive - Unflushed for a live mismatch.
	Expected resayil.Credits
}

func (m Mismatch) String() string {
	if m.Live {
		return fmt.Sprintf("account %d: redis balance %d, expected %d (durable balance %d, grants not yet live %d, unflushed usage %d)",
			m.Account, m.LiveBalance, m.Expected, m.Balance, m.NotLive, m.Unflushed)
	}
	return fmt.Sprintf("account %d: balance %d, grants %d, debits %d (grants - debits = %d, off by %+d)",
		m.Account, m.Balance, m.Grants, m.Debits, m.Expected, m.Balance-m.Expected)
}

// Report is the outcome of Verify.
type Report struct {
	// Accounts is how many accounts were checked.
	Accounts int
	// LiveChecked is true in Redis mode, where live balances were compared.
	LiveChecked bool
	Mismatches  []Mismatch
}

// OK reports whether every account balanced.
func (r Report) OK() bool { return len(r.Mismatches) == 0 }

// Verify checks every account: in the database, balance_credits must equal
// the sum of its ledger rows minus the sum of its usage records; in Redis
// mode, the live balance must equal the durable one less the grants not yet
// live (live_applied_at NULL) and the usage events still in the streams
// whose usage record is not written yet. Holds do not enter: they are
// tracked apart from the balance in both wallets. An error means the check
// could not be completed; mismatches are in the Report.
//
// Reading a live balance loads it from the database when Redis has none,
// as any gateway request would.
func (s *Service) Verify(ctx context.Context, opt VerifyOptions) (Report, error) {
	switch {
	case opt.Rechecks == 0:
		opt.Rechecks = DefaultRechecks
	case opt.Rechecks < 0:
		opt.Rechecks = 0
	}
	if opt.Delay <= 0 {
		opt.Delay = DefaultRecheckDelay
	}
	rep := Report{LiveChecked: !s.embedded()}
	var unflushed map[resayil.AccountID]resayil.Credits
	if rep.LiveChecked {
		// Streams before the database and Redis: usage settled after this
		// read is in neither the stream sum nor the durable debits, and is
		// left to a recheck.
		var err error
		if unflushed, err = s.unflushed(ctx); err != nil {
			return Report{}, err
		}
	}
	var suspects []Mismatch
	var after resayil.AccountID
	for {
		batch, err := s.store.AccountTotals(ctx, after, verifyBatch)
		if err != nil {
			return Report{}, fmt.Errorf("read account totals: %w", err)
		}
		for _, t := range batch {
			after = t.Account
			rep.Accounts++
			if t.Balance != t.Grants-t.Debits {
				rep.Mismatches = append(rep.Mismatches, Mismatch{Totals: t, Expected: t.Grants - t.Debits})
			}
			if rep.LiveChecked {
				m, err := s.liveMismatch(ctx, t, unflushed[t.Account])
				if err != nil {
					return Report{}, err
				}
				if m != nil {
					suspects = append(suspects, *m)
				}
			}
		}
		if len(batch) < verifyBatch {
			break
		}
	}
	if len(suspects) == 0 {
		return rep, nil
	}
	live, err := s.recheck(ctx, suspects, opt)
	if err != nil {
		return Report{}, err
	}
	rep.Mismatches = append(rep.Mismatches, live...)
	return rep, nil
}

// recheck reads the suspect accounts again, up to opt.Rechecks times and
// opt.Delay apart, and returns the live mismatches that persisted through
// every reading.
func (s *Service) recheck(ctx context.Context, suspects []Mismatch, opt VerifyOptions) ([]Mismatch, error) {
	for round := 0; round < opt.Rechecks && len(suspects) > 0; round++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(opt.Delay):
		}
		unflushed, err := s.unflushed(ctx)
		if err != nil {
			return nil, err
		}
		var still []Mismatch
		for _, prev := range suspects {
			ts, err := s.store.AccountTotals(ctx, prev.Account-1, 1)
			if err != nil {
				return nil, fmt.Errorf("read account totals: %w", err)
			}
			if len(ts) == 0 || ts[0].Account != prev.Account {
				continue
			}
			m, err := s.liveMismatch(ctx, ts[0], unflushed[prev.Account])
			if err != nil {
				return nil, err
			}
			if m != nil {
				still = append(still, *m)
			}
		}
		suspects = still
	}
	return suspects, nil
}

// liveMismatch compares one account's Redis balance with its durable
// numbers; nil means they agree.
func (s *Service) liveMismatch(ctx context.Context, t Totals, unflushed resayil.Credits) (*Mismatch, error) {
	b, err := s.live.Balance(ctx, t.Account)
	if err != nil {
		return nil, fmt.Errorf("read live balance of account %d: %w", t.Account, err)
	}
	want := t.Balance - t.NotLive - unflushed
	if b.Total == want {
		return nil, nil
	}
	return &Mismatch{Live: true, Totals: t, LiveBalance: b.Total, Unflushed: unflushed, Expected: want}, nil
}

// unflushed sums, per account, the credits of the usage events still in the
// Redis streams whose usage record is not in the database yet (the usage
// writer records an event before it deletes it from the stream).
func (s *Service) unflushed(ctx context.Context) (map[resayil.AccountID]resayil.Credits, error) {
	pending, err := s.usage.PendingUsage(ctx)
	if err != nil {
		return nil, fmt.Errorf("read usage streams: %w", err)
	}
	recorded := make(map[string]bool, len(pending))
	for i := 0; i < len(pending); i += recordedBatch {
		ids := make([]string, 0, recordedBatch)
		for _, u := range pending[i:min(i+recordedBatch, len(pending))] {
			ids = append(ids, u.RequestID)
		}
		got, err := s.store.RecordedUsage(ctx, ids)
		if err != nil {
			return nil, fmt.Errorf("read usage records: %w", err)
		}
		for id := range got {
			recorded[id] = true
		}
	}
	sums := make(map[resayil.AccountID]resayil.Credits)
	for _, u := range pending {
		if !recorded[u.RequestID] {
			sums[u.Account] += u.Credits
		}
	}
	return sums, nil
}
