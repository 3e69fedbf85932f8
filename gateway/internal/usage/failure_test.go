package usage_test

import (
	"context"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/redis/go-redis/v9"

	"github.com/resayil/portal/gateway/internal/usage"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/resayil"
	"github.com/resayil/portal/pkg/testenv"
)

// dbOutage returns the database a Writer should use and functions that take
// it down and bring it back. MariaDB sits behind a TCP proxy that cuts every
// connection, as a server restart or a network partition does. SQLite has
// no server to lose; its table is renamed away, so every batch fails the
// same way until it is back.
func (f *fixture) dbOutage(t *testing.T) (db *database.DB, down, up func()) {
	t.Helper()
	if f.backend == testenv.SQLiteBackend {
		rename := func(from, to string) func() {
			return func() {
				if _, err := f.db.SQL.Exec(`ALTER TABLE ` + from + ` RENAME TO ` + to); err != nil {
					t.Fatal(err)
				}
			}
		}
		return f.db, rename("usage_records", "usage_records_offline"), rename("usage_records_offline", "usage_records")
	}
	cfg, err := mysqldrv.ParseDSN(f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, cfg.Addr)
	cfg.Addr = p.addr()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err = database.Open(ctx, cfg.FormatDSN(), database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, func() { p.setDown(true) }, func() { p.setDown(false) }
}

func TestWriter_DatabaseDown_NothingLost(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		a1, a2 := f.account(t, 1000), f.account(t, 1000)
		db, down, up := f.dbOutage(t)
		w := f.startOn(t, f.env.Client, db, f.config(), usage.Hooks{})
		f.request(t, a1, 10, 3)
		f.waitWritten(t, 1)

		down()
		// Requests go on: Redis is the live wallet.
		for i := range 20 {
			f.request(t, []resayil.AccountID{a1, a2}[i%2], 10, resayil.Credits(1+i%4))
		}
		eventually(t, "a failed batch", func() bool { return w.Stats().FailedBatches >= 2 })
		if got := f.backlog(t); got != 20 {
			t.Fatalf("during the outage %d events are in the streams, want all 20", got)
		}
		up()
		f.waitWritten(t, 21)
		f.checkDurable(t, a1, a2)
		if st := w.Stats(); st.Written != 21 || st.Duplicates != 0 {
			t.Fatalf("Stats = %+v, want 21 written once", st)
		}
		if down, back := f.logs.count("database unavailable"), f.logs.count("database available again"); down != 1 || back != 1 {
			t.Fatalf("outage logged %d times, recovery %d times; want once each", down, back)
		}
	})
}

func TestWriter_CloseDuringDatabaseOutage_LeavesEventsForAnotherWriter(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		a := f.account(t, 1000)
		db, down, up := f.dbOutage(t)
		down()
		for range 5 {
			f.request(t, a, 10, 2)
		}
		w, err := usage.New(f.env.Client, db, f.config())
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "a failed batch", func() bool { return w.Stats().FailedBatches >= 1 })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		if err := w.Close(ctx); err == nil {
			t.Fatal("Close with the database down reported everything written")
		}
		up()
		cfg := f.config()
		cfg.ClaimMinIdle, cfg.ClaimInterval = 100*time.Millisecond, 10*time.Millisecond
		w2 := f.start(t, cfg)
		f.waitWritten(t, 5)
		f.checkDurable(t, a)
		if st := w2.Stats(); st.Claimed != 5 || st.Written != 5 {
			t.Fatalf("second writer Stats = %+v, want the 5 claimed and written", st)
		}
	})
}

func TestWriter_RedisDown_RetriesAndLogsOnce(t *testing.T) {
	f := newFixture(t, testenv.SQLiteBackend, 0)
	a := f.account(t, 1000)
	opt, err := redis.ParseURL(testenv.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, opt.Addr)
	opt.Addr = p.addr()
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	w := f.startOn(t, rdb, f.db, f.config(), usage.Hooks{})
	f.request(t, a, 10, 3)
	f.waitWritten(t, 1)

	p.setDown(true)
	for range 10 {
		f.request(t, a, 10, 2) // the gateways still reach Redis
	}
	eventually(t, "failed Redis calls", func() bool { return w.Stats().RedisErrors >= 3 })
	if got := f.rows(t); got != 1 {
		t.Fatalf("%d records while the writer cannot reach Redis, want 1", got)
	}
	p.setDown(false)
	f.waitWritten(t, 11)
	f.checkDurable(t, a)
	if down, back := f.logs.count("redis unavailable"), f.logs.count("redis available again"); down != 1 || back != 1 {
		t.Fatalf("outage logged %d times, recovery %d times; want once each", down, back)
	}
}

// createGroups makes the consumer group on every stream, as a Writer does.
func (f *fixture) createGroups(t *testing.T) []string {
	t.Helper()
	streams := f.live.Keys().Streams()
	for _, s := range streams {
		if err := f.env.Client.XGroupCreateMkStream(context.Background(), s, usage.DefaultGroup, "0").Err(); err != nil {
			t.Fatal(err)
		}
	}
	return streams
}

func TestWriter_ClaimsFromWriterKilledBeforeCommit(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		a1, a2 := f.account(t, 1000), f.account(t, 1000)
		for i := range 10 {
			f.request(t, []resayil.AccountID{a1, a2}[i%2], 10, 4)
		}
		// A writer read everything and died: its entries sit pending
		// under its name, never acknowledged.
		streams := f.createGroups(t)
		args := append([]string(nil), streams...)
		for range streams {
			args = append(args, ">")
		}
		res, err := f.env.Client.XReadGroup(context.Background(), &redis.XReadGroupArgs{Group: usage.DefaultGroup, Consumer: "dead", Streams: args, Count: 100, Block: -1}).Result()
		if err != nil {
			t.Fatal(err)
		}
		read := 0
		for _, s := range res {
			read += len(s.Messages)
		}
		if read != 10 {
			t.Fatalf("the dead writer read %d entries, want 10", read)
		}
		cfg := f.config()
		cfg.ClaimMinIdle, cfg.ClaimInterval = 100*time.Millisecond, 10*time.Millisecond
		w := f.start(t, cfg)
		f.waitWritten(t, 10)
		f.checkDurable(t, a1, a2)
		if st := w.Stats(); st.Claimed != 10 || st.Written != 10 || st.Duplicates != 0 {
			t.Fatalf("Stats = %+v, want 10 claimed and written", st)
		}
	})
}

func TestWriter_ClaimsFromWriterKilledAfterCommit(t *testing.T) {
	eachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b, 0)
		a1, a2 := f.account(t, 1000), f.account(t, 1000)
		for i := range 10 {
			f.request(t, []resayil.AccountID{a1, a2}[i%2], 10, 4)
		}
		// The first writer commits the batch and dies before acknowledging
		// it: the hook holds it there until Close gives up on it.
		committed := make(chan struct{})
		w1, err := usage.NewWithHooks(f.env.Client, f.db, f.config(), usage.Hooks{AfterCommit: func(ctx context.Context) {
			close(committed)
			<-ctx.Done()
		}})
		if err != nil {
			t.Fatal(err)
		}
		<-committed
		if got := f.rows(t); got != 10 {
			t.Fatalf("%d records after the commit, want 10", got)
		}
		dead, cancel := context.WithCancel(context.Background())
		cancel()
		if err := w1.Close(dead); err == nil {
			t.Fatal("Close of a writer killed before its acknowledgement reported everything done")
		}
		// Another writer claims the batch, finds it recorded, debits
		// nothing and acknowledges it.
		cfg := f.config()
		cfg.ClaimMinIdle, cfg.ClaimInterval = 100*time.Millisecond, 10*time.Millisecond
		w2 := f.start(t, cfg)
		f.waitWritten(t, 10)
		f.checkDurable(t, a1, a2)
		if st := w2.Stats(); st.Claimed != 10 || st.Duplicates != 10 || st.Written != 0 {
			t.Fatalf("Stats = %+v, want 10 claimed, all duplicates", st)
		}
	})
}

func TestWriter_RestartedUnderItsNameTakesBackItsPending(t *testing.T) {
	f := newFixture(t, testenv.SQLiteBackend, 0)
	a := f.account(t, 1000)
	for range 4 {
		f.request(t, a, 10, 2)
	}
	// The writer "pod-1" read these and crashed.
	streams := f.createGroups(t)
	args := append([]string(nil), streams...)
	for range streams {
		args = append(args, ">")
	}
	if err := f.env.Client.XReadGroup(context.Background(), &redis.XReadGroupArgs{Group: usage.DefaultGroup, Consumer: "pod-1", Streams: args, Count: 100, Block: -1}).Err(); err != nil {
		t.Fatal(err)
	}
	// Back under the same name, it does not wait ClaimMinIdle (an hour
	// here) for them.
	cfg := f.config()
	cfg.Consumer, cfg.ClaimMinIdle = "pod-1", time.Hour
	w := f.start(t, cfg)
	f.waitWritten(t, 4)
	f.checkDurable(t, a)
	if st := w.Stats(); st.Written != 4 || st.Claimed != 0 {
		t.Fatalf("Stats = %+v, want 4 written, none claimed", st)
	}
}
