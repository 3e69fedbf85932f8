package usage

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// entry is one stream entry and where it came from.
type entry struct {
	stream string
	msg    redis.XMessage
}

// record is an entry that decoded into what the database records: a
// usage record (with the balance alert its debit raised, if any), or the
// alert of a refused request alone.
type record struct {
	stream string
	// id is the entry's id, to acknowledge and delete it.
	id string
	// usage is the usage event; nil for an alert event.
	usage *walletredis.Usage
	// alert is the balance alert the entry carries; Kind NoAlert when none.
	alert wallet.Alert
}

// decode turns an entry into a record, or says why it cannot be recorded
// correctly (the entry is then parked).
func decode(e entry) (record, error) {
	ev, err := walletredis.DecodeEvent(e.msg)
	if err != nil {
		return record{}, err
	}
	if ev.Usage != nil {
		if err := fits(*ev.Usage); err != nil {
			return record{}, fmt.Errorf("usage event %s: %w", e.msg.ID, err)
		}
	}
	return record{stream: e.stream, id: ev.StreamID, usage: ev.Usage, alert: ev.Alert}, nil
}

// Column sizes of usage_records (migrations/*/00001_init.sql).
const (
	maxClientRequestID = 128
	maxModel           = 128
	maxBackend         = 16
	maxStatus          = 32
)

// fits reports a value the usage_records columns cannot hold. MySQL's strict
// mode rejects such a row, which would fail its whole batch on every retry;
// checked here, only the bad entry is parked.
func fits(u walletredis.Usage) error {
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{
		{"request_id", u.RequestID, wallet.MaxRequestIDLen},
		{"client_request_id", u.ClientRequestID, maxClientRequestID},
		{"model", u.Model, maxModel},
		{"backend", u.Backend, maxBackend},
		{"status", u.Status, maxStatus},
	} {
		if len(f.v) > f.max {
			return fmt.Errorf("%s is %d bytes, at most %d fit", f.name, len(f.v), f.max)
		}
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("%s is not valid UTF-8", f.name)
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"prompt_tokens", int64(u.PromptTokens)},
		{"completion_tokens", int64(u.CompletionTokens)},
		{"total_tokens", int64(u.TotalTokens)},
		{"latency_ms", u.Latency.Milliseconds()},
		{"ttfb_ms", u.TTFB.Milliseconds()},
	} {
		if f.v < 0 || f.v > math.MaxInt32 {
			return fmt.Errorf("%s %d out of range", f.name, f.v)
		}
	}
	switch {
	case u.Credits < 0 || u.Shortfall < 0 || u.Held < 0:
		return errors.New("negative credits")
	case u.CreatedAt.Before(time.UnixMilli(1)):
		return errors.New("no created_at_ms")
	}
	return nil
}

// streamTime is when an entry was added, from its id ("<ms>-<seq>").
func streamTime(id string) (time.Time, bool) {
	// Per entry of every batch: no fmt scanning.
	msPart, seqPart, ok := strings.Cut(id, "-")
	if !ok {
		return time.Time{}, false
	}
	ms, err1 := strconv.ParseInt(msPart, 10, 64)
	_, err2 := strconv.ParseUint(seqPart, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
