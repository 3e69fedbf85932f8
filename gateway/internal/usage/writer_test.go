package usage_test

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/usage"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
	"github.com/resayil/portal/pkg/wallet/walletredis"
)

func TestWriter_WritesWhatRedisSettled(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		ctx := context.Background()
		var accounts []resayil.AccountID
		for _, c := range []resayil.Credits{100, 50, 20, 30, 1000, 40} {
			accounts = append(accounts, f.account(t, c))
		}
		// Settled before the Writer starts: what a writer finds on boot.
		want := 0
		for _, a := range accounts {
			for range 4 {
				f.request(t, a, 5, 3)
				want++
			}
		}
		// The cost exceeds the hold and the rest of the balance: Redis
		// charges the 4 credits there are and records a shortfall of 5.
		poor := f.account(t, 4)
		short := f.request(t, poor, 1, 9)
		want++
		// A replayed Settle adds no event.
		if res, err := f.live.Settle(ctx, settlement(short, poor, 9)); err != nil || !res.Replayed {
			t.Fatalf("replayed Settle = %+v, %v", res, err)
		}

		w := f.start(t, f.config())
		// Settled while it runs, concurrently.
		var wg sync.WaitGroup
		for _, a := range accounts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					if _, err := f.tryRequest(a, 2, 1); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		want += 5 * len(accounts)
		f.waitWritten(t, want)
		f.checkDurable(t, append(accounts, poor)...)

		st := w.Stats()
		if st.Written != int64(want) || st.Duplicates != 0 || st.Parked != 0 || st.Batches == 0 || st.Unpaid != 0 {
			t.Errorf("Stats = %+v, want %d written and nothing else", st, want)
		}

		// The record carries everything the event did.
		var (
			clientID, model, backend, status string
			acct, apiKey                     sql.NullInt64
			prompt, completion, total        int
			credits, shortfall               int64
			latency, ttfb                    int64
			created                          time.Time
		)
		err := f.db.SQL.QueryRow(`SELECT client_request_id, account_id, api_key_id, model, backend, prompt_tokens, completion_tokens,
  total_tokens, credits, shortfall_credits, status, latency_ms, ttfb_ms, created_at FROM usage_records WHERE request_id = ?`, short).
			Scan(&clientID, &acct, &apiKey, &model, &backend, &prompt, &completion, &total, &credits, &shortfall, &status, &latency, &ttfb, &created)
		if err != nil {
			t.Fatal(err)
		}
		s := settlement(short, poor, 9)
		if clientID != s.ClientRequestID || acct.Int64 != int64(poor) || apiKey.Int64 != s.APIKeyID || model != s.Model ||
			backend != s.Backend || prompt != s.PromptTokens || completion != s.CompletionTokens || total != s.TotalTokens ||
			status != s.Status || latency != s.Latency.Milliseconds() || ttfb != s.TTFB.Milliseconds() {
			t.Errorf("record of %s = %q %d %d %q %q %d %d %d %q %d %d", short, clientID, acct.Int64, apiKey.Int64, model, backend,
				prompt, completion, total, status, latency, ttfb)
		}
		if credits != 4 || shortfall != 5 {
			t.Errorf("record of %s: credits %d, shortfall %d; want 4 and 5", short, credits, shortfall)
		}
		if age := time.Since(created); age < 0 || age > time.Minute {
			t.Errorf("created_at %v is not the settlement time", created)
		}
	})
}

// event returns the fields of a request's usage event, still in its stream.
func (f *fixture) event(t *testing.T, requestID string, acct resayil.AccountID) map[string]any {
	t.Helper()
	msgs, err := f.env.Client.XRange(context.Background(), f.live.Keys().UsageStream(acct), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if u, err := walletredis.DecodeUsage(m); err == nil && u.RequestID == requestID {
			return m.Values
		}
	}
	t.Fatalf("no event of %s", requestID)
	return nil
}

// replay appends a copy of an event to its stream, as a duplicated append
// would.
func (f *fixture) replay(t *testing.T, acct resayil.AccountID, values map[string]any) {
	t.Helper()
	err := f.env.Client.XAdd(context.Background(), &redis.XAddArgs{Stream: f.live.Keys().UsageStream(acct), Values: values}).Err()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWriter_ReplayedEntryWrittenOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		a1, a2 := f.account(t, 100), f.account(t, 100)
		r1 := f.request(t, a1, 10, 4)
		f.request(t, a2, 10, 6)
		// The copy is read in the same batch as the original.
		e1 := f.event(t, r1, a1)
		f.replay(t, a1, e1)
		w := f.start(t, f.config())
		f.waitWritten(t, 2)
		if st := w.Stats(); st.Written != 2 || st.Duplicates != 1 {
			t.Fatalf("Stats = %+v, want 2 written, 1 duplicate", st)
		}
		f.checkDurable(t, a1, a2)

		// Another copy, in a later batch with a new event: the database
		// has the record, so the copy is skipped and only the new one is
		// debited.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		f.replay(t, a1, e1)
		f.request(t, a1, 10, 5)
		f.request(t, a2, 10, 5)
		w2 := f.start(t, f.config())
		f.waitWritten(t, 4)
		if st := w2.Stats(); st.Written != 2 || st.Duplicates != 1 {
			t.Fatalf("second writer Stats = %+v, want 2 written, 1 duplicate", st)
		}
		f.checkDurable(t, a1, a2)
	})
}

func TestWriter_TwoWritersShareTheWork(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		// One stream, batches of 10, and no claims: writer 1 reads one
		// batch and is held before writing it, so the rest of the stream
		// can only go to writer 2; then writer 1 writes its batch. Both
		// must write, each exactly its share, and nothing twice.
		f := newFixture(t, b, 1)
		var accounts []resayil.AccountID
		for range 8 {
			accounts = append(accounts, f.account(t, 10_000))
		}
		const perAccount, batch = 25, 10
		for _, a := range accounts {
			for i := range perAccount {
				f.request(t, a, 10, resayil.Credits(1+i%7))
			}
		}
		n := perAccount * len(accounts)
		cfg := f.config()
		cfg.BatchSize, cfg.ClaimMinIdle = batch, time.Hour
		read, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		w1 := f.startOn(t, f.env.Client, f.db, cfg, usage.Hooks{BeforeWrite: func(ctx context.Context) {
			once.Do(func() {
				close(read)
				select {
				case <-release:
				case <-ctx.Done():
				}
			})
		}})
		<-read // writer 1 holds its first batch, unwritten
		w2 := f.start(t, cfg)
		eventually(t, "writer 2 writing the rest", func() bool { return w2.Stats().Written == int64(n-batch) })
		close(release)
		f.waitWritten(t, n)
		f.checkDurable(t, accounts...)
		s1, s2 := w1.Stats(), w2.Stats()
		if s1.Written != batch || s2.Written != int64(n-batch) || s1.Duplicates+s2.Duplicates != 0 {
			t.Fatalf("writers wrote %d + %d (duplicates %d + %d), want %d + %d and no duplicates",
				s1.Written, s2.Written, s1.Duplicates, s2.Duplicates, batch, n-batch)
		}
	})
}

func TestWriter_CloseFlushesWhatWasRead(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		// One stream and batches of 5, so the first read takes exactly 5
		// of the 12 events.
		f := newFixture(t, b, 1)
		a := f.account(t, 1000)
		for range 12 {
			f.request(t, a, 10, 2)
		}
		cfg := f.config()
		cfg.BatchSize = 5
		read, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		w, err := usage.NewWithHooks(f.env.Client, f.db, cfg, usage.Hooks{BeforeWrite: func(ctx context.Context) {
			once.Do(func() {
				close(read)
				select {
				case <-release:
				case <-ctx.Done():
				}
			})
		}})
		if err != nil {
			t.Fatal(err)
		}
		<-read // a batch is read, not yet written
		closed := make(chan error, 1)
		go func() { closed <- w.Close(context.Background()) }()
		eventually(t, "Close to stop the reading", func() bool { return usage.Stopping(w) })
		select {
		case err := <-closed:
			t.Fatalf("Close returned (%v) before the batch it read was written", err)
		default:
		}
		close(release)
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if got := f.rows(t); got != 5 {
			t.Fatalf("after Close: %d records, want the 5 read", got)
		}
		if got := f.backlog(t); got != 7 {
			t.Fatalf("after Close: %d events in the stream, want the 7 not read", got)
		}
		if st := w.Stats(); st.Written != 5 {
			t.Fatalf("Stats = %+v, want 5 written", st)
		}
		// Nothing read is left pending, and the next Writer takes the rest.
		pending, err := f.env.Client.XPending(context.Background(), f.live.Keys().Stream(0), usage.DefaultGroup).Result()
		if err != nil || pending.Count != 0 {
			t.Fatalf("pending after Close = %+v, %v; want none", pending, err)
		}
		f.start(t, f.config())
		f.waitWritten(t, 12)
		f.checkDurable(t, a)
	})
}

// TestWriter_FlushOnCloseWritesWhatIsQueued: with FlushOnClose (the
// gateway's setting) Close also writes the events still unread in the
// streams, so a gateway's last settlements are in the database when it
// exits (invariant 7).
func TestWriter_FlushOnCloseWritesWhatIsQueued(t *testing.T) {
	f := newFixture(t, testenv.SQLiteBackend, 1)
	a := f.account(t, 1000)
	for range 12 {
		f.request(t, a, 10, 2)
	}
	cfg := f.config()
	cfg.BatchSize = 5
	cfg.FlushOnClose = true
	read, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	w, err := usage.NewWithHooks(f.env.Client, f.db, cfg, usage.Hooks{BeforeWrite: func(ctx context.Context) {
		once.Do(func() {
			close(read)
			select {
			case <-release:
			case <-ctx.Done():
			}
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-read // 5 read, 7 still unread in the stream
	closed := make(chan error, 1)
	go func() { closed <- w.Close(context.Background()) }()
	eventually(t, "Close to stop the reading", func() bool { return usage.Stopping(w) })
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got, left := f.rows(t), f.backlog(t); got != 12 || left != 0 {
		t.Fatalf("after Close: %d records and %d events in the stream, want 12 and 0", got, left)
	}
	f.checkDurable(t, a)
}

func TestWriter_ParksMalformedEntries(t *testing.T) {
	f := newFixture(t, testenv.SQLiteBackend, 1)
	ctx := context.Background()
	a := f.account(t, 100)
	stream := f.live.Keys().Stream(0)
	// event builds a usage event as the settle script writes it (format
	// version 5, walletredis): request id, account, credits, then the
	// model; the other values zero or empty (no alert).
	event := func(requestID, account, credits, model string) map[string]any {
		return map[string]any{"e": strings.Join([]string{walletredis.UsageVersion, requestID, account, credits, "0", "1700000000000", "",
			"0", "0", "0", "0", "0", "0", "0", "local", "ok", model, ""}, "\x1f")}
	}
	good := event("ok-raw", "1", "0", "m")
	bad := []map[string]any{
		{"v": "3", "request_id": "v3", "account_id": "1"}, // no event field
		event("nan", "x1", "0", "m"),
		event("", "1", "0", "m"),
		event("long", "1", "0", strings.Repeat("m", 129)),
		event("neg", "1", "-5", "m"),
	}
	f.request(t, a, 5, 2)
	for _, v := range bad {
		if err := f.env.Client.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: v}).Err(); err != nil {
			t.Fatal(err)
		}
		f.request(t, a, 5, 2)
	}
	if err := f.env.Client.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: good}).Err(); err != nil {
		t.Fatal(err)
	}
	w := f.start(t, f.config())
	f.waitWritten(t, 1+len(bad)+1)
	f.checkDurable(t, a)
	if st := w.Stats(); st.Parked != int64(len(bad)) || st.Written != int64(len(bad)+2) {
		t.Fatalf("Stats = %+v, want %d parked, %d written", st, len(bad), len(bad)+2)
	}
	dead, err := f.env.Client.XRange(ctx, usage.DeadStream(f.env.Prefix), "-", "+").Result()
	if err != nil || len(dead) != len(bad) {
		t.Fatalf("dead-letter stream has %d entries (%v), want %d", len(dead), err, len(bad))
	}
	for i, d := range dead {
		same := true
		for k, v := range bad[i] {
			same = same && d.Values[k] == v
		}
		if !same || d.Values["error"] == "" || d.Values["source_stream"] != stream || d.Values["source_id"] == "" {
			t.Errorf("parked entry %d = %v, want the original fields with error and source", i, d.Values)
		}
	}
	if n := f.logs.count("parked a usage event"); n != len(bad) {
		t.Errorf("%d log lines about parking, want one per entry (%d)", n, len(bad))
	}
}

func TestWriter_RecordsWhatRedisChargedWhenDurableBalanceIsShort(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		a := f.account(t, 10)
		f.request(t, a, 5, 3)
		f.request(t, a, 5, 5)
		// The durable balance disagrees with Redis (it should never): it
		// cannot pay the 8 credits Redis charged.
		if _, err := f.db.SQL.Exec(`UPDATE wallets SET balance_credits = 1 WHERE account_id = ?`, a); err != nil {
			t.Fatal(err)
		}
		w := f.start(t, f.config())
		f.waitWritten(t, 2)
		var balance, debits int64
		if err := f.db.SQL.QueryRow(`SELECT (SELECT balance_credits FROM wallets WHERE account_id = ?), (SELECT SUM(credits) FROM usage_records WHERE account_id = ?)`, a, a).
			Scan(&balance, &debits); err != nil {
			t.Fatal(err)
		}
		if balance != 0 || debits != 8 {
			t.Fatalf("balance %d, usage debits %d; want 0 and the 8 Redis charged", balance, debits)
		}
		if st := w.Stats(); st.Unpaid != 7 || st.Written != 2 {
			t.Fatalf("Stats = %+v, want 7 unpaid, 2 written", st)
		}
		if f.logs.count("durable balance could not pay") != 1 {
			t.Fatal("the unpaid debit was not logged")
		}
	})
}

func TestWriter_RecreatesGroupsWhenRedisLosesData(t *testing.T) {
	f := newFixture(t, testenv.SQLiteBackend, 0)
	ctx := context.Background()
	a := f.account(t, 100)
	f.start(t, f.config())
	f.request(t, a, 5, 4)
	f.waitWritten(t, 1)
	// FLUSHALL, for this test's keys: streams and group are gone, and the
	// wallet reloads the balance from the database.
	keys, err := f.env.Client.Keys(ctx, f.env.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.env.Client.Del(ctx, keys...).Err(); err != nil {
		t.Fatal(err)
	}
	f.request(t, a, 5, 4)
	f.request(t, a, 5, 4)
	f.waitWritten(t, 3)
	f.checkDurable(t, a)
}

func TestWriter_PrunesIdleConsumersAndLeavesOnClose(t *testing.T) {
	f := newFixture(t, testenv.SQLiteBackend, 1)
	ctx := context.Background()
	a := f.account(t, 100)
	stream := f.live.Keys().Stream(0)
	if err := f.env.Client.XGroupCreateMkStream(ctx, stream, usage.DefaultGroup, "0").Err(); err != nil {
		t.Fatal(err)
	}
	f.request(t, a, 5, 1)
	read := func(consumer string) {
		err := f.env.Client.XReadGroup(ctx, &redis.XReadGroupArgs{Group: usage.DefaultGroup, Consumer: consumer, Streams: []string{stream, ">"}, Count: 10, Block: -1}).Err()
		if err != nil && err != redis.Nil {
			t.Fatal(err)
		}
	}
	read("busy") // takes the event and dies with it pending
	read("idle") // finds nothing: a consumer with nothing pending
	consumers := func() map[string]int64 {
		cs, err := f.env.Client.XInfoConsumers(ctx, stream, usage.DefaultGroup).Result()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for _, c := range cs {
			out[c.Name] = c.Pending
		}
		return out
	}
	cfg := f.config()
	cfg.Consumer = "live-writer"
	cfg.PruneIdle = time.Millisecond
	cfg.ClaimMinIdle = time.Hour // keep "busy" pending
	cfg.ClaimInterval = 10 * time.Millisecond
	w, err := usage.New(f.env.Client, f.db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the idle consumer removed", func() bool {
		_, ok := consumers()["idle"]
		return !ok
	})
	if got := consumers(); got["busy"] != 1 {
		t.Fatalf("consumers = %v: the one with a pending entry must stay", got)
	}
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := consumers()["live-writer"]; ok {
		t.Fatalf("consumers after Close = %v: the writer did not leave", consumers())
	}
}

func TestNew_RejectsBadConfig(t *testing.T) {
	env := testenv.Redis(t)
	db, _ := testenv.SQLite(t)
	if _, err := usage.New(env.Client, db, usage.Config{Prefix: "a{b}"}); err == nil {
		t.Fatal("a prefix with braces was accepted")
	}
	if _, err := usage.New(nil, db, usage.Config{}); err == nil {
		t.Fatal("a nil Redis client was accepted")
	}
	if got, want := usage.DeadStream("p:"), "p:"+walletredis.KeySpace+"usage:dead"; got != want {
		t.Fatalf("DeadStream = %q, want %q", got, want)
	}
}

// TestWriter_WritersStealingEachOthersWork claims every entry as soon as it
// is pending, so both writers hold, and write, the same entries at the same
// time: the database alone must keep each to one record and one debit.
func TestWriter_WritersStealingEachOthersWork(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		var accounts []resayil.AccountID
		for range 4 {
			accounts = append(accounts, f.account(t, 10_000))
		}
		cfg := f.config()
		cfg.ClaimMinIdle, cfg.ClaimInterval = time.Millisecond, time.Millisecond
		w1, w2 := f.start(t, cfg), f.start(t, cfg)
		const perAccount = 40
		var wg sync.WaitGroup
		for _, a := range accounts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perAccount {
					if _, err := f.tryRequest(a, 10, resayil.Credits(1+i%5)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		n := perAccount * len(accounts)
		f.waitWritten(t, n)
		f.checkDurable(t, accounts...)
		s1, s2 := w1.Stats(), w2.Stats()
		if s1.Written+s2.Written != int64(n) {
			t.Fatalf("writers wrote %d + %d, want %d in all", s1.Written, s2.Written, n)
		}
		t.Logf("%s: claimed %d + %d, duplicates %d + %d, failed batches %d + %d", b,
			s1.Claimed, s2.Claimed, s1.Duplicates, s2.Duplicates, s1.FailedBatches, s2.FailedBatches)
	})
}

func TestWriter_SlowWriterLosesItsBatchToAClaim(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		a := f.account(t, 1000)
		for range 6 {
			f.request(t, a, 10, 3)
		}
		stuck, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		slow := f.startOn(t, f.env.Client, f.db, f.config(), usage.Hooks{BeforeWrite: func(ctx context.Context) {
			once.Do(func() {
				close(stuck)
				select {
				case <-release:
				case <-ctx.Done():
				}
			})
		}})
		<-stuck
		cfg := f.config()
		cfg.ClaimMinIdle, cfg.ClaimInterval = 50*time.Millisecond, 10*time.Millisecond
		fast := f.start(t, cfg)
		f.waitWritten(t, 6)
		close(release)
		eventually(t, "the slow writer to finish its batch", func() bool { return slow.Stats().Duplicates == 6 })
		f.checkDurable(t, a)
		if st := fast.Stats(); st.Claimed != 6 || st.Written != 6 {
			t.Fatalf("claiming writer Stats = %+v, want 6 claimed and written", st)
		}
		if st := slow.Stats(); st.Written != 0 {
			t.Fatalf("slow writer Stats = %+v, want nothing written", st)
		}
	})
}
