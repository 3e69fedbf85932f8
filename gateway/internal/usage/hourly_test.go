package usage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/usage"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

// rawEvent is a usage event as a settle script writes it: format 4 carries
// the held credits, format 3 (a gateway not yet upgraded) does not.
type rawEvent struct {
	format                         int
	id                             string
	account                        resayil.AccountID
	credits, held                  int64
	at                             time.Time
	key                            int64
	prompt, completion             int
	backend, status, model, client string
}

func (e rawEvent) values() map[string]any {
	v := []string{strconv.Itoa(e.format), e.id, strconv.FormatInt(int64(e.account), 10), strconv.FormatInt(e.credits, 10), "0",
		strconv.FormatInt(e.at.UnixMilli(), 10), strconv.FormatInt(e.key, 10), strconv.Itoa(e.prompt), strconv.Itoa(e.completion),
		strconv.Itoa(e.prompt + e.completion), "100", "10"}
	if e.format == 4 {
		v = append(v, strconv.FormatInt(e.held, 10))
	}
	v = append(v, e.backend, e.status, e.model, e.client)
	return map[string]any{"e": strings.Join(v, "\x1f")}
}

// TestWriter_HourlyEqualsRecords: after a mix of events (two formats,
// three hours, models, backends, keys and statuses, errors among them),
// usage_hourly is exactly the sums of usage_records; each record keeps the
// hold its event carried (0, unknown, for format 3); and the same events
// read again add nothing.
func TestWriter_HourlyEqualsRecords(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 1)
		ctx := context.Background()
		a1, a2 := f.account(t, 100_000), f.account(t, 100_000)
		stream := f.live.Keys().Stream(0)
		base := time.Date(2026, 12, 7, 20, 0, 0, 0, time.UTC)
		var events []rawEvent
		statuses := []string{"ok", "ok", "upstream_error", "ok", "client_closed", "upstream_wrong_shape"}
		for i := range 60 {
			e := rawEvent{
				format: 3 + i%2, id: fmt.Sprintf("mix-%d", i), account: []resayil.AccountID{a1, a2}[i/30],
				credits: int64(1 + i%9), held: int64(20 + i), at: base.Add(time.Duration(i*7) * time.Minute).Add(time.Duration(i) * time.Millisecond),
				key: []int64{0, 7, 9}[i%3], prompt: 10 + i, completion: 2 * i,
				backend: []string{"local", "cloud"}[i/4%2], status: statuses[i%len(statuses)],
				model: []string{"llama3.2:3b", "qwen2.5:7b"}[i/5%2], client: "c\x1f" + strconv.Itoa(i),
			}
			events = append(events, e)
		}
		// And requests billed by the live wallet (format 4, now).
		for range 5 {
			f.request(t, a1, 10, 3)
		}
		for _, e := range events {
			if err := f.env.Client.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: e.values()}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		w := f.start(t, f.config())
		f.waitWritten(t, len(events)+5)
		rows := testenv.CheckHourly(t, f.db.SQL)
		var requests, errs int64
		for _, r := range rows {
			requests += r.Requests
			errs += r.Errors
		}
		if requests != int64(len(events)+5) || errs != 30 {
			t.Errorf("usage_hourly counts %d requests and %d errors, want %d and 30", requests, errs, len(events)+5)
		}
		for _, e := range events {
			var held int64
			if err := f.db.SQL.QueryRow(`SELECT held_credits FROM usage_records WHERE request_id = ?`, e.id).Scan(&held); err != nil {
				t.Fatal(err)
			}
			want := e.held
			if e.format == 3 {
				want = 0
			}
			if held != want {
				t.Errorf("%s (format %d): held_credits %d, want %d", e.id, e.format, held, want)
			}
		}

		// Every event again, as a replay after a crash would deliver them:
		// nothing is written, and the rollup does not move.
		before := testenv.ReadHourly(t, f.db.SQL)
		for _, e := range events[:40] {
			if err := f.env.Client.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: e.values()}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		f.request(t, a2, 10, 4)
		for _, e := range events[40:] {
			if err := f.env.Client.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: e.values()}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		f.waitWritten(t, len(events)+6)
		eventually(t, "the replays counted", func() bool { return w.Stats().Duplicates == int64(len(events)) })
		after := testenv.CheckHourly(t, f.db.SQL)
		var moved []testenv.HourlyRow
		for _, r := range after {
			if !slices.Contains(before, r) {
				moved = append(moved, r)
			}
		}
		if len(moved) != 1 || moved[0].Account != int64(a2) || moved[0].Credits < 4 {
			t.Errorf("after the replays and one new request, rows changed: %s", cmp.Diff(before, after))
		}
	})
}

// TestStore_ConcurrentBatchesDoNotDeadlock: two writers' batches on
// MariaDB roll up the same accounts' rows, each batch listing them in its
// own order (ascending, descending, shuffled). Row locks are taken in one
// order whatever the batch's, so no transaction is chosen as a deadlock
// victim (the store does not retry: a deadlock would be an error here).
// The records charge nothing (errors, say), so no wallet row is locked
// first to queue the batches: the rollup's own order is what is tested.
func TestStore_ConcurrentBatchesDoNotDeadlock(t *testing.T) {
	f := newFixture(t, testenv.MariaDBBackend, 1)
	const accounts, batches = 40, 25
	var accts []resayil.AccountID
	for range accounts {
		accts = append(accts, f.account(t, 1_000_000))
	}
	at := time.Date(2026, 12, 7, 21, 15, 0, 0, time.UTC)
	batch := func(writer, n int) []walletredis.Usage {
		order := slices.Clone(accts)
		switch (writer + n) % 3 {
		case 0:
		case 1:
			slices.Reverse(order)
		default:
			r := rand.New(rand.NewPCG(uint64(writer), uint64(n)))
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		}
		rows := make([]walletredis.Usage, 0, 2*len(order))
		for i, a := range order {
			for k := range 2 {
				rows = append(rows, walletredis.Usage{
					StreamID: "0-1", RequestID: fmt.Sprintf("w%d-b%d-%d-%d", writer, n, i, k), Account: a,
					CreatedAt: at.Add(time.Duration(k) * time.Second),
					Usage: wallet.Usage{APIKeyID: int64(k), Model: "llama3.2:3b", Backend: "local", Status: "upstream_error",
						PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7, Held: 9},
				})
			}
		}
		return rows
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*batches)
	for writer := range 2 {
		wg.Go(func() {
			for n := range batches {
				written, dups, err := usage.WriteBatch(context.Background(), f.db, batch(writer, n))
				if err != nil {
					errs <- fmt.Errorf("writer %d, batch %d: %w", writer, n, err)
					return
				}
				if written != 2*accounts || dups != 0 {
					errs <- fmt.Errorf("writer %d, batch %d: %d written, %d duplicates", writer, n, written, dups)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	rows := testenv.CheckHourly(t, f.db.SQL)
	if len(rows) != 2*accounts {
		t.Fatalf("%d usage_hourly rows, want %d", len(rows), 2*accounts)
	}
	for _, r := range rows {
		if r.Requests != 2*batches || r.Errors != 2*batches || r.PromptTokens != 3*2*batches {
			t.Errorf("row %+v, want %d requests, all errors, %d prompt tokens", r, 2*batches, 6*batches)
		}
	}
}
