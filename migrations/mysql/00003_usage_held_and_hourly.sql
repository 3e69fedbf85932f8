-- +goose Up
-- The credits held at admission, beside what was charged: a receipt shows
-- both. Rows written before this migration show 0, "unknown".
ALTER TABLE usage_records ADD COLUMN held_credits BIGINT NOT NULL DEFAULT 0;
-- Usage per account, UTC hour, model, backend and key, written in the same
-- transaction as the usage records it sums, so the usage pages read a
-- month of one account as a few hundred rows. api_key_id 0 is "no key".
-- errors counts records whose status is not 'ok'.
CREATE TABLE usage_hourly (
  account_id BIGINT NOT NULL,
  hour_start DATETIME(6) NOT NULL,
  model VARCHAR(128) NOT NULL,
  backend VARCHAR(16) NOT NULL,
  api_key_id BIGINT NOT NULL DEFAULT 0,
  requests BIGINT NOT NULL DEFAULT 0,
  prompt_tokens BIGINT NOT NULL DEFAULT 0,
  completion_tokens BIGINT NOT NULL DEFAULT 0,
  credits BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, hour_start, model, backend, api_key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO usage_hourly (account_id, hour_start, model, backend, api_key_id, requests, prompt_tokens, completion_tokens, credits, errors)
SELECT account_id, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00'), model, backend, COALESCE(api_key_id, 0),
       COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(credits), SUM(CASE WHEN status <> 'ok' THEN 1 ELSE 0 END)
FROM usage_records
GROUP BY account_id, DATE_FORMAT(created_at, '%Y-%m-%d %H:00:00'), model, backend, COALESCE(api_key_id, 0);

-- +goose Down
DROP TABLE usage_hourly;
ALTER TABLE usage_records DROP COLUMN held_credits;
