-- +goose Up
-- usage_records was indexed by (model, created_at) for questions across
-- accounts about one model. usage_hourly answers those now, from far fewer
-- rows, and every settlement paid for this index with one more B-tree
-- insert in its transaction: dropping it pays for the rollup's upsert
-- (docs/adr/0013-usage-hourly-rollup.md).
ALTER TABLE usage_records DROP INDEX ix_usage_model_time;

-- +goose Down
ALTER TABLE usage_records ADD INDEX ix_usage_model_time (model, created_at);
