-- +goose Up
-- A payment's history: one row each time MyFatoorah's answer about it was
-- applied (the browser's return, the signed webhook, the re-check job) or
-- an admin resolved it, with what arrived and what was decided. Written
-- in the transaction of the change it records. History starts with this
-- migration: payments older than it have no events before it.
CREATE TABLE payment_events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  payment_id BIGINT NOT NULL,
  -- browser_return, webhook, recheck or admin.
  source VARCHAR(16) NOT NULL,
  -- What arrived: MyFatoorah's invoice status, amount and currency as its
  -- GetPaymentStatus answered (NULL amount: none that could be read), and
  -- its ids.
  provider_status VARCHAR(32) NOT NULL DEFAULT '',
  provider_amount_fils BIGINT NULL,
  provider_currency VARCHAR(8) NOT NULL DEFAULT '',
  invoice_id VARCHAR(64) NOT NULL DEFAULT '',
  provider_payment_id VARCHAR(64) NOT NULL DEFAULT '',
  -- What was decided, and the payment's status before and after.
  decision VARCHAR(32) NOT NULL,
  status_before VARCHAR(16) NOT NULL,
  status_after VARCHAR(16) NOT NULL,
  detail VARCHAR(255) NOT NULL DEFAULT '',
  actor_user_id BIGINT NULL,
  created_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_payment_events_payment FOREIGN KEY (payment_id) REFERENCES payments (id),
  KEY ix_payment_events_payment (payment_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The admin overview and revenue read paid payments by paid time, credits
-- granted by time, and usage of all accounts by hour.
CREATE INDEX ix_payments_paid ON payments (status, paid_at);
CREATE INDEX ix_credit_ledger_time ON credit_ledger (created_at);
CREATE INDEX ix_usage_hourly_hour ON usage_hourly (hour_start);

-- +goose Down
DROP INDEX ix_usage_hourly_hour ON usage_hourly;
DROP INDEX ix_credit_ledger_time ON credit_ledger;
DROP INDEX ix_payments_paid ON payments;
DROP TABLE payment_events;
