// Package accounteventssql carries account events through the database, for
// the embedded mode where gateway and portal-api share one SQLite file and
// there is no Redis (it works on MySQL/MariaDB too, and is tested on both).
//
// Table account_events (migrations 00001):
//
//	id          autoincrement; the subscription's cursor
//	kind        VARCHAR(32)
//	account_id  NULL for platform-wide events (Account 0)
//	subject     VARCHAR(128)
//	created_at  the event's At
//
// Publish inserts one row. A subscription starts at the current MAX(id), so
// older events are not replayed, then polls
//
//	SELECT ... WHERE id > :last ORDER BY id LIMIT 500
//
// every PollInterval (default 1 s, well inside the gateway's 5 s). Unlike
// pub/sub the table keeps what was published while a subscriber could not
// read, so after a database error the subscription resumes from its cursor
// and needs no resync, unless it was cut off long enough for rows to be
// pruned.
//
// On MySQL two transactions can commit their rows out of id order, so a poll
// may see id 7 before id 6 becomes visible. Missing ids are remembered as
// gaps and looked up again on each poll for GapTimeout (default 30 s);
// afterwards they are taken for rolled-back inserts. SQLite has one writer at
// a time, so ids become visible in order there.
//
// Subscriptions prune rows every PruneEvery (default 1 min) that have been
// visible for at least Retention (default 1 h). Pruning goes by when the
// subscriber saw an id, not by created_at, because a caller may publish an
// event with an old At.
package accounteventssql

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/resayil/portal/pkg/accountevents"
	"github.com/resayil/portal/pkg/resayil"
)

// Config tunes a Bus; the zero value is ready for production.
type Config struct {
	// PollInterval is the time between polls of a subscription. Default 1s.
	PollInterval time.Duration
	// Retention is how long a row stays after it became visible. Default 1h.
	Retention time.Duration
	// PruneEvery is how often a subscription deletes expired rows. Default 1m.
	PruneEvery time.Duration
	// GapTimeout is how long a missing id is waited for. Default 30s.
	GapTimeout time.Duration
	// BatchSize is the most rows one query reads. Default 500.
	BatchSize int
	// Backoff spaces retries while the database fails.
	Backoff accountevents.Backoff
	// Logger receives database errors; default: discarded.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Retention <= 0 {
		c.Retention = time.Hour
	}
	if c.PruneEvery <= 0 {
		c.PruneEvery = time.Minute
	}
	if c.GapTimeout <= 0 {
		c.GapTimeout = 30 * time.Second
	}
	if c.BatchSize <= 0 {
		c.BatchSize = 500
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Bus publishes events as rows of account_events and delivers them to
// subscriptions by polling. It is safe for concurrent use.
type Bus struct {
	db  *sql.DB
	cfg Config
	now func() time.Time
}

var (
	_ accountevents.Publisher  = (*Bus)(nil)
	_ accountevents.Subscriber = (*Bus)(nil)
)

// New returns a Bus on a migrated database (SQLite or MySQL/MariaDB).
func New(db *sql.DB, cfg Config) *Bus {
	return &Bus{db: db, cfg: cfg.withDefaults(), now: time.Now}
}

// Execer is what With needs to write a row: *sql.DB, *sql.Tx and *sql.Conn
// have it, and so has GORM's connection inside a transaction
// (tx.Statement.ConnPool), so a caller can write the event in the same
// transaction as the change it announces.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Publish implements accountevents.Publisher: it inserts one row, committed
// on its own.
func (b *Bus) Publish(ctx context.Context, ev accountevents.Event) error {
	return b.insert(ctx, b.db, ev)
}

// With returns a Publisher that inserts through exec, typically an open
// transaction: the event becomes visible when that transaction commits and
// vanishes if it rolls back. Only the embedded mode can offer this; callers
// that must work in both modes publish after commit instead (see package
// accountevents).
func (b *Bus) With(exec Execer) accountevents.Publisher {
	return txPublisher{b: b, exec: exec}
}

type txPublisher struct {
	b    *Bus
	exec Execer
}

func (p txPublisher) Publish(ctx context.Context, ev accountevents.Event) error {
	return p.b.insert(ctx, p.exec, ev)
}

const insertSQL = `INSERT INTO account_events (kind, account_id, subject, created_at) VALUES (?, ?, ?, ?)`

func (b *Bus) insert(ctx context.Context, exec Execer, ev accountevents.Event) error {
	ev, err := accountevents.Normalize(ev, b.now())
	if err != nil {
		return err
	}
	var account any
	if ev.Account != 0 {
		account = int64(ev.Account)
	}
	if _, err := exec.ExecContext(ctx, insertSQL, string(ev.Kind), account, ev.Subject, ev.At); err != nil {
		return unavailable("publish", err)
	}
	return nil
}

func unavailable(op string, err error) error {
	return fmt.Errorf("accounteventssql: %s: %w: %w", op,
		resayil.Errorf(resayil.EUNAVAILABLE, "Account events cannot be published right now. Please retry shortly."), err)
}
