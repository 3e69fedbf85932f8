package apitest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/resayil/portal/pkg/database"
	"github.com/resayil/portal/portal-api/internal/usage/usageseed"
)

// UsageRecord is one request as the gateway records it. Zero fields get
// defaults: a random RequestID, model llama3.2:3b, backend local, status
// ok; CreatedAt zero is the harness clock's now.
type UsageRecord struct {
	RequestID       string
	ClientRequestID string
	AccountID       int64
	// APIKeyID 0 is no key.
	APIKeyID         int64
	Model            string
	Backend          string
	PromptTokens     int64
	CompletionTokens int64
	HeldCredits      int64
	Credits          int64
	Shortfall        int64
	Status           string
	LatencyMS        int64
	TTFBMS           int64
	CreatedAt        time.Time
}

// AddUsage records r as the gateway does: the usage record and its
// usage_hourly rollup in one transaction. It returns the record's id.
func (h *Harness) AddUsage(t testing.TB, r UsageRecord) int64 {
	t.Helper()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = h.Clock.Now()
	}
	id, err := InsertUsage(context.Background(), h.DB, r)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// InsertUsage writes r and upserts its rollup row in one transaction.
func InsertUsage(ctx context.Context, db *database.DB, r UsageRecord) (int64, error) {
	if r.RequestID == "" {
		var b [12]byte
		_, _ = rand.Read(b[:])
		r.RequestID = fmt.Sprintf("req_%x", b)
	}
	if r.Model == "" {
		r.Model = "llama3.2:3b"
	}
	if r.Backend == "" {
		r.Backend = "local"
	}
	if r.Status == "" {
		r.Status = "ok"
	}
	at := r.CreatedAt.UTC()
	var key sql.NullInt64
	if r.APIKeyID != 0 {
		key = sql.NullInt64{Int64: r.APIKeyID, Valid: true}
	}
	errs := int64(0)
	if r.Status != "ok" {
		errs = 1
	}
	upsert := usageseed.RollupUpsert(db.Dialect)
	var id int64
	err := database.RetryTx(ctx, func() error {
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		res, err := tx.ExecContext(ctx, `INSERT INTO usage_records (request_id, client_request_id, account_id, api_key_id, model, backend,
  prompt_tokens, completion_tokens, total_tokens, held_credits, credits, shortfall_credits, status, latency_ms, ttfb_ms, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.RequestID, r.ClientRequestID, r.AccountID, key, r.Model, r.Backend, r.PromptTokens, r.CompletionTokens,
			r.PromptTokens+r.CompletionTokens, r.HeldCredits, r.Credits, r.Shortfall, r.Status, r.LatencyMS, r.TTFBMS, at)
		if err != nil {
			return fmt.Errorf("insert usage record: %w", err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO usage_hourly (account_id, hour_start, model, backend, api_key_id,
  requests, prompt_tokens, completion_tokens, credits, errors) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?)`+upsert,
			r.AccountID, at.Truncate(time.Hour), r.Model, r.Backend, r.APIKeyID, r.PromptTokens, r.CompletionTokens, r.Credits, errs); err != nil {
			return fmt.Errorf("upsert usage rollup: %w", err)
		}
		return tx.Commit()
	})
	return id, err
}
