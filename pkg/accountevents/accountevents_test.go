package accountevents_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
)

func TestNormalize_StampsAndTruncates(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 678901234, time.FixedZone("Asia/Kuwait", 3*3600))
	ev, err := accountevents.Normalize(accountevents.Event{Kind: accountevents.KindKeyRevoked}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 1, 2, 0, 4, 5, 678901000, time.UTC)
	if !ev.At.Equal(want) || ev.At.Location() != time.UTC {
		t.Fatalf("At = %s, want %s", ev.At, want)
	}
	explicit := time.Date(2024, 5, 6, 7, 8, 9, 999, time.UTC)
	ev, _ = accountevents.Normalize(accountevents.Event{Kind: accountevents.KindKeyRevoked, At: explicit}, now)
	if !ev.At.Equal(explicit.Truncate(time.Microsecond)) {
		t.Fatalf("explicit At changed to %s", ev.At)
	}
}

func TestNormalize_RejectsResync(t *testing.T) {
	_, err := accountevents.Normalize(accountevents.Event{Kind: accountevents.KindResync}, time.Now())
	if resayil.ErrorCode(err) != resayil.EINVALID {
		t.Fatalf("got %v, want %s", err, resayil.EINVALID)
	}
}

func TestKeepAlive_BacksOffAndResetsAfterConnecting(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := accountevents.Backoff{Min: time.Millisecond, Max: 4 * time.Millisecond}
	var waits []time.Duration
	attempt := 0
	accountevents.KeepAlive(ctx, b, func(ctx context.Context, connected func()) error {
		attempt++
		if attempt == 5 {
			connected()
		}
		if attempt == 7 {
			cancel()
			return ctx.Err()
		}
		return errors.New("down")
	}, func(err error, wait time.Duration) { waits = append(waits, wait) })
	// Base waits 1, 2, 4, 4 ms; attempt 5 connected, so back to 1 ms.
	base := []time.Duration{1, 2, 4, 4, 1, 2}
	if len(waits) != len(base) {
		t.Fatalf("reported %d waits, want %d: %v", len(waits), len(base), waits)
	}
	for i, w := range waits {
		lo := base[i] * time.Millisecond
		if w < lo || w > lo+lo/5 {
			t.Errorf("wait %d = %s, want %s plus at most 20%% jitter", i, w, lo)
		}
	}
}

func TestKeepAlive_ReturnsWhenContextEndsDuringWait(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		accountevents.KeepAlive(ctx, accountevents.Backoff{Min: time.Hour, Max: time.Hour},
			func(context.Context, func()) error { return errors.New("down") },
			func(error, time.Duration) { cancel() })
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("KeepAlive still waiting after its context ended")
	}
}
