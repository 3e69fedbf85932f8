-- +goose Up
-- A payment's history and the admin overview's indexes; the MySQL file of
-- this migration explains each column.
CREATE TABLE payment_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  payment_id BIGINT NOT NULL,
  source VARCHAR(16) NOT NULL,
  provider_status VARCHAR(32) NOT NULL DEFAULT '',
  provider_amount_fils BIGINT NULL,
  provider_currency VARCHAR(8) NOT NULL DEFAULT '',
  invoice_id VARCHAR(64) NOT NULL DEFAULT '',
  provider_payment_id VARCHAR(64) NOT NULL DEFAULT '',
  decision VARCHAR(32) NOT NULL,
  status_before VARCHAR(16) NOT NULL,
  status_after VARCHAR(16) NOT NULL,
  detail VARCHAR(255) NOT NULL DEFAULT '',
  actor_user_id BIGINT NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_payment_events_payment FOREIGN KEY (payment_id) REFERENCES payments (id)
);
CREATE INDEX ix_payment_events_payment ON payment_events (payment_id, id);

CREATE INDEX ix_payments_paid ON payments (status, paid_at);
CREATE INDEX ix_credit_ledger_time ON credit_ledger (created_at);
CREATE INDEX ix_usage_hourly_hour ON usage_hourly (hour_start);

-- +goose Down
DROP INDEX ix_usage_hourly_hour;
DROP INDEX ix_credit_ledger_time;
DROP INDEX ix_payments_paid;
DROP TABLE payment_events;
