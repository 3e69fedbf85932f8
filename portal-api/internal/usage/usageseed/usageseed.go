// Package usageseed fills an account with synthetic usage, for benchmarks
// and query-plan tests: usage records and their usage_hourly rollup, with
// multi-row INSERTs. It is development tooling; nothing in production
// calls it.
package usageseed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/resayil/portal/migrations"
	"github.com/resayil/portal/pkg/database"
)

// Options say what to make. Zero fields get defaults.
type Options struct {
	Account int64
	// Records is how many usage records (default 1,000,000).
	Records int
	// End is the newest record's time (default now); the records are
	// spread evenly over Span before it (default 90 days).
	End  time.Time
	Span time.Duration
	// Models cycle over the records (default three local models).
	Models []string
	// KeyIDs cycle over the records; 0 is no key (default: no key).
	KeyIDs []int64
	// RowsPerInsert caps one INSERT (default 1000).
	RowsPerInsert int
	// Prefix starts every request id (default "seed-<account>-").
	Prefix string
}

func (o *Options) defaults() {
	if o.Records == 0 {
		o.Records = 1_000_000
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	o.End = o.End.UTC()
	if o.Span == 0 {
		o.Span = 90 * 24 * time.Hour
	}
	if len(o.Models) == 0 {
		o.Models = []string{"llama3.2:3b", "qwen2.5:7b", "mistral:7b"}
	}
	if len(o.KeyIDs) == 0 {
		o.KeyIDs = []int64{0}
	}
	if o.RowsPerInsert == 0 {
		o.RowsPerInsert = 1000
	}
	if o.Prefix == "" {
		o.Prefix = fmt.Sprintf("seed-%d-", o.Account)
	}
}

type record struct {
	requestID, model, backend, status string
	key                               int64
	prompt, completion, held, credits int64
	at                                time.Time
}

type hourKey struct {
	hour           time.Time
	model, backend string
	key            int64
}

type hourSums struct{ requests, prompt, completion, credits, errors int64 }

// Seed inserts the records and adds them to the rollup (an upsert, so
// seeding twice adds up). Every 5th record is served by the cloud, every
// 50th failed (upstream_error).
func Seed(ctx context.Context, db *database.DB, o Options) error {
	o.defaults()
	step := o.Span / time.Duration(o.Records)
	start := o.End.Add(-step * time.Duration(o.Records-1))
	rollup := map[hourKey]*hourSums{}
	batch := make([]record, 0, o.RowsPerInsert)
	for i := range o.Records {
		r := record{
			requestID: fmt.Sprintf("%s%d", o.Prefix, i), model: o.Models[i%len(o.Models)], backend: "local", status: "ok",
			key: o.KeyIDs[i%len(o.KeyIDs)], prompt: int64(20 + i%200), completion: int64(10 + i%300),
			at: start.Add(step * time.Duration(i)),
		}
		if i%5 == 4 {
			r.backend = "cloud"
		}
		if i%50 == 49 {
			r.status = "upstream_error"
		}
		r.credits = 1 + (r.prompt+r.completion)/100
		r.held = r.credits + 5
		k := hourKey{hour: r.at.Truncate(time.Hour), model: r.model, backend: r.backend, key: r.key}
		s := rollup[k]
		if s == nil {
			s = &hourSums{}
			rollup[k] = s
		}
		s.requests++
		s.prompt += r.prompt
		s.completion += r.completion
		s.credits += r.credits
		if r.status != "ok" {
			s.errors++
		}
		batch = append(batch, r)
		if len(batch) == o.RowsPerInsert || i == o.Records-1 {
			if err := insertRecords(ctx, db, o.Account, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return insertRollup(ctx, db, o.Account, rollup, o.RowsPerInsert)
}

func insertRecords(ctx context.Context, db *database.DB, account int64, rows []record) error {
	var q strings.Builder
	q.WriteString(`INSERT INTO usage_records (request_id, client_request_id, account_id, api_key_id, model, backend,
  prompt_tokens, completion_tokens, total_tokens, held_credits, credits, shortfall_credits, status, latency_ms, ttfb_ms, created_at) VALUES `)
	args := make([]any, 0, 16*len(rows))
	for i, r := range rows {
		if i > 0 {
			q.WriteString(",")
		}
		q.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
		var key any
		if r.key != 0 {
			key = r.key
		}
		args = append(args, r.requestID, "", account, key, r.model, r.backend, r.prompt, r.completion, r.prompt+r.completion,
			r.held, r.credits, 0, r.status, 300+r.completion*5, 80+r.prompt, r.at)
	}
	if _, err := db.SQL.ExecContext(ctx, q.String(), args...); err != nil {
		return fmt.Errorf("insert usage records: %w", err)
	}
	return nil
}

// RollupUpsert ends an INSERT INTO usage_hourly so that a row of an
// existing (account, hour, model, backend, key) adds to it.
func RollupUpsert(d migrations.Dialect) string {
	if d == migrations.MySQL {
		return ` ON DUPLICATE KEY UPDATE
  requests = requests + VALUES(requests), prompt_tokens = prompt_tokens + VALUES(prompt_tokens),
  completion_tokens = completion_tokens + VALUES(completion_tokens), credits = credits + VALUES(credits),
  errors = errors + VALUES(errors)`
	}
	return ` ON CONFLICT (account_id, hour_start, model, backend, api_key_id) DO UPDATE SET
  requests = requests + excluded.requests, prompt_tokens = prompt_tokens + excluded.prompt_tokens,
  completion_tokens = completion_tokens + excluded.completion_tokens, credits = credits + excluded.credits,
  errors = errors + excluded.errors`
}

func insertRollup(ctx context.Context, db *database.DB, account int64, rollup map[hourKey]*hourSums, perInsert int) error {
	upsert := RollupUpsert(db.Dialect)
	keys := make([]hourKey, 0, len(rollup))
	for k := range rollup {
		keys = append(keys, k)
	}
	for len(keys) > 0 {
		n := min(perInsert, len(keys))
		var q strings.Builder
		q.WriteString(`INSERT INTO usage_hourly (account_id, hour_start, model, backend, api_key_id,
  requests, prompt_tokens, completion_tokens, credits, errors) VALUES `)
		args := make([]any, 0, 10*n)
		for i, k := range keys[:n] {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?,?,?,?,?,?,?,?,?,?)")
			s := rollup[k]
			args = append(args, account, k.hour, k.model, k.backend, k.key, s.requests, s.prompt, s.completion, s.credits, s.errors)
		}
		q.WriteString(upsert)
		if _, err := db.SQL.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("upsert usage rollup: %w", err)
		}
		keys = keys[n:]
	}
	return nil
}
