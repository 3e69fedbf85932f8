package walletsql

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/outbox"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/wallet"
)

// RecordAlert writes a balance alert's outbox row in the caller's
// transaction, unless its period already has one (the dedupe key
// "<event>:<account>:<period_seq>"), and reports whether it inserted. It
// is the durable part of every balance alert: the embedded wallet's
// settlements and refusals, the Redis usage writer's batches, and
// portal-api's admin debits.
//
// The row is for the audience "user" of a.Account; its payload's params
// are the template's: credits_low {{1}} the credits left, {{2}} the top-up
// link; credits_exhausted {{1}} the top-up link.
func RecordAlert(ctx context.Context, ex Execer, d migrations.Dialect, a wallet.Alert, topUpURL string, now time.Time) (bool, error) {
	var params []string
	switch a.Kind {
	case wallet.AlertLow:
		params = []string{strconv.FormatInt(int64(a.Balance), 10), topUpURL}
	case wallet.AlertExhausted:
		params = []string{topUpURL}
	default:
		return false, fmt.Errorf("%w: alert kind %d", wallet.ErrInvalid, a.Kind)
	}
	if a.Account <= 0 || a.PeriodSeq < 0 {
		return false, fmt.Errorf("%w: alert of account %d, period %d", wallet.ErrInvalid, a.Account, a.PeriodSeq)
	}
	return outbox.Insert(ctx, ex, d, outbox.Notification{
		DedupeKey: a.DedupeKey(), Event: a.Kind.Event(), Audience: outbox.AudienceUser, Account: a.Account,
		Payload: outbox.Params{Params: params},
	}, now)
}

// alertMemo remembers which (account, period) already has its
// credits_exhausted row, so that the embedded wallet's refusals, which can
// come by the hundred a second from a client retrying, write it once
// instead of each time. It only spares writes: the dedupe key decides, so
// forgetting (another process, a restart, the memo emptied when full)
// costs one INSERT that inserts nothing.
type alertMemo struct {
	mu   sync.Mutex
	seen map[alertPeriod]struct{}
}

type alertPeriod struct {
	account resayil.AccountID
	seq     int64
}

// memoCap bounds the memo: emptied when it reaches this many periods.
const memoCap = 10_000

func (m *alertMemo) has(acct resayil.AccountID, seq int64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.seen[alertPeriod{acct, seq}]
	return ok
}

func (m *alertMemo) add(acct resayil.AccountID, seq int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil || len(m.seen) >= memoCap {
		m.seen = make(map[alertPeriod]struct{})
	}
	m.seen[alertPeriod{acct, seq}] = struct{}{}
}
