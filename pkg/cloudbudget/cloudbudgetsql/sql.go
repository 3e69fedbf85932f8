// Package cloudbudgetsql keeps the daily cloud budget in the database: the
// cloudbudget.Store of the embedded mode (one cloud_budget_days row per
// Kuwait day, in the SQLite file the gateway and portal-api share), and the
// Outbox through which the gateway's background writer records the 80 % and
// 100 % admin alerts in the notifications table, in both modes.
//
// Why a conditional UPDATE: "is there room" and "count one more" must be one
// step, or two requests could both see 499 of 500 and both go to the cloud.
// UPDATE ... SET used_requests = used_requests + 1 WHERE used_requests <
// cap_requests is that step: MySQL locks the row for the statement, SQLite
// serialises writers (BEGIN IMMEDIATE, set by package database); the SELECT
// that follows in the same transaction reads the count this request made.
package cloudbudgetsql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/cloudbudget"
	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/pkg/dbtime"
)

// Config tunes a Store.
type Config struct {
	// DefaultCap is the cap of a day without a row
	// (RESAYIL_CLOUD_DAILY_BUDGET); the first write freezes it into the row.
	DefaultCap int64
	// Now stamps updated_at; nil means time.Now.
	Now func() time.Time
}

// Store is the SQL cloud budget, safe for concurrent use; several processes
// may share the database.
type Store struct {
	db      *sql.DB
	dialect migrations.Dialect
	def     int64
	now     func() time.Time
	// writeMu queues this process's SQLite writers in Go (see walletsql):
	// fairer and faster under load than SQLite's polling busy handler.
	writeMu *sync.Mutex
	// forUpdate locks the row read on MySQL.
	forUpdate string
	// insertDay creates a day's row unless it exists.
	insertDay string
	// upsertCap sets a day's cap, creating the row.
	upsertCap string
}

var _ cloudbudget.Store = (*Store)(nil)

// New returns a Store on db, which must be migrated.
func New(db *database.DB, cfg Config) (*Store, error) {
	if err := cloudbudget.CheckCap(cfg.DefaultCap); err != nil {
		return nil, err
	}
	s := &Store{db: db.SQL, dialect: db.Dialect, def: cfg.DefaultCap, now: cfg.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if db.Dialect == migrations.MySQL {
		s.forUpdate = " FOR UPDATE"
		s.insertDay = `INSERT INTO cloud_budget_days (day, cap_requests, used_requests, updated_at) VALUES (?, ?, 0, ?)
ON DUPLICATE KEY UPDATE day = day`
		s.upsertCap = `INSERT INTO cloud_budget_days (day, cap_requests, used_requests, updated_at) VALUES (?, ?, 0, ?)
ON DUPLICATE KEY UPDATE cap_requests = ?, updated_at = ?`
	} else {
		s.writeMu = &sync.Mutex{}
		s.insertDay = `INSERT INTO cloud_budget_days (day, cap_requests, used_requests, updated_at) VALUES (?, ?, 0, ?)
ON CONFLICT (day) DO NOTHING`
		s.upsertCap = `INSERT INTO cloud_budget_days (day, cap_requests, used_requests, updated_at) VALUES (?, ?, 0, ?)
ON CONFLICT (day) DO UPDATE SET cap_requests = ?, updated_at = ?`
	}
	return s, nil
}

// clock returns the time as stored (dbtime.Of).
func (s *Store) clock() time.Time { return dbtime.Of(s.now()) }

// Take implements cloudbudget.Store.
func (s *Store) Take(ctx context.Context, day cloudbudget.Day) (cloudbudget.State, bool, error) {
	if err := cloudbudget.CheckDay(day); err != nil {
		return cloudbudget.State{}, false, err
	}
	for created := false; ; created = true {
		var st cloudbudget.State
		var taken, missing bool
		err := s.tx(ctx, func(tx *sql.Tx) error {
			n, err := s.increment(ctx, tx, day, s.clock())
			if err != nil {
				return err
			}
			taken = n == 1
			var found bool
			st, found, err = s.read(ctx, tx, day)
			missing = !found
			return err
		})
		if err != nil {
			return cloudbudget.State{}, false, cloudbudget.Unavailable("take", err)
		}
		if !missing || created {
			return st, taken, nil
		}
		// The day's first cloud request: create the row in its own
		// statement, outside the transaction whose UPDATE found nothing.
		// Inside it, MySQL's gap lock from that UPDATE would deadlock
		// concurrent first requests on their INSERTs.
		if err := s.tx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, s.insertDay, day, s.def, s.clock())
			return err
		}); err != nil {
			return cloudbudget.State{}, false, cloudbudget.Unavailable("create day", err)
		}
	}
}

func (s *Store) increment(ctx context.Context, tx *sql.Tx, day cloudbudget.Day, now time.Time) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE cloud_budget_days SET used_requests = used_requests + 1, updated_at = ?
WHERE day = ? AND used_requests < cap_requests`, now, day)
	if err != nil {
		return 0, fmt.Errorf("take: %w", err)
	}
	return res.RowsAffected()
}

// read returns the day's row, or the default state and found=false
// without one.
func (s *Store) read(ctx context.Context, tx *sql.Tx, day cloudbudget.Day) (cloudbudget.State, bool, error) {
	st := cloudbudget.State{Day: day}
	err := tx.QueryRowContext(ctx, `SELECT cap_requests, used_requests FROM cloud_budget_days WHERE day = ?`+s.forUpdate, day).Scan(&st.Cap, &st.Used)
	if errors.Is(err, sql.ErrNoRows) {
		st.Cap = s.def
		return st, false, nil
	}
	if err != nil {
		return cloudbudget.State{}, false, fmt.Errorf("read day: %w", err)
	}
	return st, true, nil
}

// Refund implements cloudbudget.Store.
func (s *Store) Refund(ctx context.Context, day cloudbudget.Day) (cloudbudget.State, error) {
	if err := cloudbudget.CheckDay(day); err != nil {
		return cloudbudget.State{}, err
	}
	var st cloudbudget.State
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE cloud_budget_days SET used_requests = used_requests - 1, updated_at = ?
WHERE day = ? AND used_requests > 0`, s.clock(), day); err != nil {
			return fmt.Errorf("refund: %w", err)
		}
		var err error
		st, _, err = s.read(ctx, tx, day)
		return err
	})
	if err != nil {
		return cloudbudget.State{}, cloudbudget.Unavailable("refund", err)
	}
	return st, nil
}

// Get implements cloudbudget.Store.
func (s *Store) Get(ctx context.Context, day cloudbudget.Day) (cloudbudget.State, error) {
	if err := cloudbudget.CheckDay(day); err != nil {
		return cloudbudget.State{}, err
	}
	st := cloudbudget.State{Day: day}
	err := s.db.QueryRowContext(ctx, `SELECT cap_requests, used_requests FROM cloud_budget_days WHERE day = ?`, day).Scan(&st.Cap, &st.Used)
	if errors.Is(err, sql.ErrNoRows) {
		st.Cap = s.def
		return st, nil
	}
	if err != nil {
		return cloudbudget.State{}, cloudbudget.Unavailable("get", err)
	}
	return st, nil
}

// SetCap implements cloudbudget.Store.
func (s *Store) SetCap(ctx context.Context, day cloudbudget.Day, limit int64) (cloudbudget.State, error) {
	if err := cloudbudget.CheckDay(day); err != nil {
		return cloudbudget.State{}, err
	}
	if err := cloudbudget.CheckCap(limit); err != nil {
		return cloudbudget.State{}, err
	}
	var st cloudbudget.State
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.clock()
		if _, err := tx.ExecContext(ctx, s.upsertCap, day, limit, now, limit, now); err != nil {
			return fmt.Errorf("set cap: %w", err)
		}
		var err error
		st, _, err = s.read(ctx, tx, day)
		return err
	})
	if err != nil {
		return cloudbudget.State{}, cloudbudget.Unavailable("set cap", err)
	}
	return st, nil
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return database.RunTx(ctx, s.db, s.writeMu, fn)
}
