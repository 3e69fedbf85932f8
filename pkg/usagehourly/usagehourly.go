// Package usagehourly keeps usage_hourly, the rollup of usage_records per
// account, UTC hour, model, backend and API key (requests, tokens, credits,
// and errors: records whose status is not "ok").
//
// A rollup is written in the same transaction as the usage records it sums,
// and only for records that transaction actually inserted: a settlement or
// a usage event seen twice adds nothing, because its record is not
// inserted twice (the unique request id) and the transaction that finds it
// there adds no rollup either.
//
// Upserts go in one fixed order, the primary key's (account, hour, model,
// backend, key), so two transactions touching the same rows on MySQL take
// their row locks in the same order and queue instead of deadlocking.
package usagehourly

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/resayil/portal/migrations"
)

// StatusOK is the status of a record that is not an error.
const StatusOK = "ok"

// Key is one usage_hourly row.
type Key struct {
	Account int64
	// Hour is the UTC hour the records were created in (HourOf).
	Hour    time.Time
	Model   string
	Backend string
	// APIKeyID is 0 for records without a key.
	APIKeyID int64
}

// Sums are what a row adds up.
type Sums struct {
	Requests         int64
	PromptTokens     int64
	CompletionTokens int64
	Credits          int64
	Errors           int64
}

// Record is what the rollup needs of one usage record.
type Record struct {
	Account          int64
	APIKeyID         int64
	Model            string
	Backend          string
	Status           string
	PromptTokens     int64
	CompletionTokens int64
	Credits          int64
	CreatedAt        time.Time
}

// HourOf is the hour_start of a record created at t: t in UTC, truncated to
// the hour (what the migration's backfill computes from created_at).
func HourOf(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// Rollup sums records by Key. The zero value is not usable; use New.
type Rollup struct {
	sums map[Key]*Sums
}

// New returns an empty Rollup.
func New() *Rollup { return &Rollup{sums: map[Key]*Sums{}} }

// Add counts one record.
func (r *Rollup) Add(rec Record) {
	k := Key{Account: rec.Account, Hour: HourOf(rec.CreatedAt), Model: rec.Model, Backend: rec.Backend, APIKeyID: rec.APIKeyID}
	s := r.sums[k]
	if s == nil {
		s = &Sums{}
		r.sums[k] = s
	}
	s.Requests++
	s.PromptTokens += rec.PromptTokens
	s.CompletionTokens += rec.CompletionTokens
	s.Credits += rec.Credits
	if rec.Status != StatusOK {
		s.Errors++
	}
}

// Len is the number of rows the rollup touches.
func (r *Rollup) Len() int { return len(r.sums) }

// Keys returns the rollup's keys in the order Write upserts them: the
// primary key's.
func (r *Rollup) Keys() []Key {
	keys := make([]Key, 0, len(r.sums))
	for k := range r.sums {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	return keys
}

// Sums returns what the rollup adds to row k.
func (r *Rollup) Sums(k Key) Sums {
	if s := r.sums[k]; s != nil {
		return *s
	}
	return Sums{}
}

func compareKeys(a, b Key) int {
	return cmp.Or(
		cmp.Compare(a.Account, b.Account),
		a.Hour.Compare(b.Hour),
		strings.Compare(a.Model, b.Model),
		strings.Compare(a.Backend, b.Backend),
		cmp.Compare(a.APIKeyID, b.APIKeyID),
	)
}

// Rows per upsert statement: ten parameters a row; SQLite's driver binds
// parameters in time quadratic in their number (see the usage writer's
// store), MySQL takes a usage writer's batch in one statement.
const (
	rowsPerStatementMySQL  = 500
	rowsPerStatementSQLite = 16
)

const insertHead = `INSERT INTO usage_hourly (account_id, hour_start, model, backend, api_key_id,
  requests, prompt_tokens, completion_tokens, credits, errors) VALUES `

const rowParams = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

// Upsert tails: add to a row that exists.
const (
	onDuplicateMySQL = ` ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests),
  prompt_tokens = prompt_tokens + VALUES(prompt_tokens), completion_tokens = completion_tokens + VALUES(completion_tokens),
  credits = credits + VALUES(credits), errors = errors + VALUES(errors)`
	onConflictSQLite = ` ON CONFLICT (account_id, hour_start, model, backend, api_key_id) DO UPDATE SET
  requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
  completion_tokens = completion_tokens + excluded.completion_tokens, credits = credits + excluded.credits,
  errors = errors + excluded.errors`
)

// Upserts of one row, built once: the embedded settlement writes one per
// request.
var (
	upsertOneMySQL  = insertHead + rowParams + onDuplicateMySQL
	upsertOneSQLite = insertHead + rowParams + onConflictSQLite
)

// WriteOne adds one record to its usage_hourly row in tx: Write of a
// rollup holding only rec, without building one.
func WriteOne(ctx context.Context, tx *sql.Tx, d migrations.Dialect, rec Record) error {
	q := upsertOneSQLite
	if d == migrations.MySQL {
		q = upsertOneMySQL
	}
	var errs int64
	if rec.Status != StatusOK {
		errs = 1
	}
	if _, err := tx.ExecContext(ctx, q, rec.Account, HourOf(rec.CreatedAt), rec.Model, rec.Backend, rec.APIKeyID,
		1, rec.PromptTokens, rec.CompletionTokens, rec.Credits, errs); err != nil {
		return fmt.Errorf("usage_hourly: %w", err)
	}
	return nil
}

// Write adds the rollup to usage_hourly in tx, in primary-key order.
func (r *Rollup) Write(ctx context.Context, tx *sql.Tx, d migrations.Dialect) error {
	if len(r.sums) == 0 {
		return nil
	}
	tail, per := onConflictSQLite, rowsPerStatementSQLite
	if d == migrations.MySQL {
		tail, per = onDuplicateMySQL, rowsPerStatementMySQL
	}
	for chunk := range slices.Chunk(r.Keys(), per) {
		var q strings.Builder
		q.Grow(len(insertHead) + len(tail) + len(chunk)*(len(rowParams)+2))
		q.WriteString(insertHead)
		args := make([]any, 0, 10*len(chunk))
		for i, k := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(rowParams)
			s := r.sums[k]
			args = append(args, k.Account, k.Hour, k.Model, k.Backend, k.APIKeyID,
				s.Requests, s.PromptTokens, s.CompletionTokens, s.Credits, s.Errors)
		}
		q.WriteString(tail)
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("usage_hourly: %w", err)
		}
	}
	return nil
}
