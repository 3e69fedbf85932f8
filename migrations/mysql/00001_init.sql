-- +goose Up
-- Accounts own wallets, ledger rows, usage, subscriptions and limits: a
-- user's personal account (kind 'user') or an Enterprise team's ('team').
CREATE TABLE accounts (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind VARCHAR(16) NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'active',
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE users (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  email VARCHAR(254) NOT NULL,
  email_normalized VARCHAR(254) NOT NULL,
  phone VARCHAR(20) NOT NULL,
  name VARCHAR(100) NOT NULL,
  password_hash VARCHAR(255) NOT NULL,
  role VARCHAR(16) NOT NULL DEFAULT 'user',
  locale VARCHAR(8) NOT NULL DEFAULT 'en',
  disabled_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_users_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  UNIQUE KEY uq_users_email (email_normalized),
  UNIQUE KEY uq_users_account (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- A session is one login (a refresh-token family); access tokens carry its id
-- and are refused once revoked_at is set.
CREATE TABLE sessions (
  id CHAR(36) NOT NULL PRIMARY KEY,
  user_id BIGINT NOT NULL,
  remember_me BOOLEAN NOT NULL DEFAULT FALSE,
  user_agent VARCHAR(255) NOT NULL DEFAULT '',
  ip VARCHAR(64) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  last_seen_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  revoked_at DATETIME(6) NULL,
  revoke_reason VARCHAR(32) NOT NULL DEFAULT '',
  CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id),
  KEY ix_sessions_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE refresh_tokens (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  session_id CHAR(36) NOT NULL,
  token_hash CHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  rotated_at DATETIME(6) NULL,
  CONSTRAINT fk_refresh_tokens_session FOREIGN KEY (session_id) REFERENCES sessions (id),
  UNIQUE KEY uq_refresh_tokens_hash (token_hash),
  KEY ix_refresh_tokens_session (session_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE api_keys (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  name VARCHAR(100) NOT NULL,
  prefix VARCHAR(16) NOT NULL,
  key_hash CHAR(64) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  last_used_at DATETIME(6) NULL,
  revoked_at DATETIME(6) NULL,
  CONSTRAINT fk_api_keys_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT fk_api_keys_user FOREIGN KEY (user_id) REFERENCES users (id),
  UNIQUE KEY uq_api_keys_hash (key_hash),
  KEY ix_api_keys_user (user_id, revoked_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE subscription_plans (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code VARCHAR(32) NOT NULL,
  name VARCHAR(100) NOT NULL,
  price_fils BIGINT NOT NULL,
  credits BIGINT NOT NULL,
  duration_days INT NOT NULL,
  rate_limit_per_minute INT NOT NULL,
  model_classes VARCHAR(255) NOT NULL,
  cloud_allowed BOOLEAN NOT NULL DEFAULT FALSE,
  enterprise_models BOOLEAN NOT NULL DEFAULT FALSE,
  teams_allowed BOOLEAN NOT NULL DEFAULT FALSE,
  queue_priority INT NOT NULL DEFAULT 0,
  features TEXT NOT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  sort_order INT NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_subscription_plans_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE subscriptions (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  plan_id BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  source VARCHAR(16) NOT NULL,
  payment_id BIGINT NULL,
  starts_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  ended_at DATETIME(6) NULL,
  reminder_sent_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_subscriptions_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT fk_subscriptions_plan FOREIGN KEY (plan_id) REFERENCES subscription_plans (id),
  KEY ix_subscriptions_account (account_id, status),
  KEY ix_subscriptions_expiry (status, expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE topup_packs (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  code VARCHAR(32) NOT NULL,
  name VARCHAR(100) NOT NULL,
  credits BIGINT NOT NULL,
  price_fils BIGINT NOT NULL,
  active BOOLEAN NOT NULL DEFAULT TRUE,
  sort_order INT NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_topup_packs_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The durable balance. A conditional UPDATE (balance >= amount) is what makes
-- the embedded-mode reservation atomic (invariant 1).
CREATE TABLE wallets (
  account_id BIGINT NOT NULL PRIMARY KEY,
  balance_credits BIGINT NOT NULL DEFAULT 0,
  held_credits BIGINT NOT NULL DEFAULT 0,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_wallets_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  CONSTRAINT ck_wallets_balance CHECK (balance_credits >= 0),
  CONSTRAINT ck_wallets_held CHECK (held_credits >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Credit holds of in-flight requests (embedded mode), leased so that a dead
-- gateway's holds are reclaimed.
CREATE TABLE wallet_holds (
  request_id VARCHAR(64) NOT NULL PRIMARY KEY,
  account_id BIGINT NOT NULL,
  amount_credits BIGINT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  expires_at DATETIME(6) NOT NULL,
  KEY ix_wallet_holds_expiry (expires_at),
  KEY ix_wallet_holds_account (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Every grant is a row with a unique reference (payment:, subscription:,
-- admin:, refund:), so applying it twice is impossible (invariant 2).
CREATE TABLE credit_ledger (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  reference VARCHAR(128) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  amount_credits BIGINT NOT NULL,
  reason VARCHAR(255) NOT NULL DEFAULT '',
  actor_user_id BIGINT NULL,
  live_applied_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_credit_ledger_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  UNIQUE KEY uq_credit_ledger_reference (reference),
  KEY ix_credit_ledger_account (account_id, created_at),
  KEY ix_credit_ledger_live (live_applied_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE payments (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  reference VARCHAR(64) NOT NULL,
  account_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  kind VARCHAR(16) NOT NULL,
  plan_id BIGINT NULL,
  pack_id BIGINT NULL,
  amount_fils BIGINT NOT NULL,
  currency CHAR(3) NOT NULL,
  credits BIGINT NOT NULL,
  status VARCHAR(16) NOT NULL,
  provider VARCHAR(16) NOT NULL DEFAULT 'myfatoorah',
  invoice_id VARCHAR(64) NULL,
  provider_payment_id VARCHAR(64) NULL,
  payment_url VARCHAR(1024) NOT NULL DEFAULT '',
  failure_reason VARCHAR(255) NOT NULL DEFAULT '',
  expires_at DATETIME(6) NOT NULL,
  paid_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_payments_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  UNIQUE KEY uq_payment_reference (reference),
  UNIQUE KEY uq_payment_invoice_id (invoice_id),
  KEY ix_payments_account (account_id, created_at),
  KEY ix_payments_status (status, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per billed request; the unique billing id makes a replayed usage
-- event a no-op (invariant 2). A client's X-Request-Id never deduplicates.
CREATE TABLE usage_records (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  request_id VARCHAR(64) NOT NULL,
  client_request_id VARCHAR(128) NOT NULL DEFAULT '',
  account_id BIGINT NOT NULL,
  api_key_id BIGINT NULL,
  model VARCHAR(128) NOT NULL,
  backend VARCHAR(16) NOT NULL,
  prompt_tokens INT NOT NULL DEFAULT 0,
  completion_tokens INT NOT NULL DEFAULT 0,
  total_tokens INT NOT NULL DEFAULT 0,
  credits BIGINT NOT NULL DEFAULT 0,
  shortfall_credits BIGINT NOT NULL DEFAULT 0,
  status VARCHAR(32) NOT NULL,
  latency_ms INT NOT NULL DEFAULT 0,
  ttfb_ms INT NOT NULL DEFAULT 0,
  created_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_usage_request_id (request_id),
  KEY ix_usage_account_time (account_id, created_at),
  KEY ix_usage_model_time (model, created_at),
  KEY ix_usage_account_model (account_id, model, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE teams (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  account_id BIGINT NOT NULL,
  name VARCHAR(100) NOT NULL,
  owner_user_id BIGINT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_teams_account FOREIGN KEY (account_id) REFERENCES accounts (id),
  UNIQUE KEY uq_teams_account (account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE team_members (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  team_id BIGINT NOT NULL,
  user_id BIGINT NOT NULL,
  role VARCHAR(16) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_team_members_team FOREIGN KEY (team_id) REFERENCES teams (id),
  CONSTRAINT fk_team_members_user FOREIGN KEY (user_id) REFERENCES users (id),
  UNIQUE KEY uq_team_members_user (user_id),
  KEY ix_team_members_team (team_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE notification_templates (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  event VARCHAR(64) NOT NULL,
  locale VARCHAR(8) NOT NULL,
  channel VARCHAR(16) NOT NULL DEFAULT 'whatsapp',
  provider_template VARCHAR(128) NOT NULL DEFAULT '',
  body TEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_notification_templates (event, locale, channel)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The notification outbox: written in the same transaction as the change it
-- reports; dedupe_key makes "once per (event, subject)" a unique index.
CREATE TABLE notifications (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  dedupe_key VARCHAR(191) NOT NULL,
  event VARCHAR(64) NOT NULL,
  audience VARCHAR(16) NOT NULL,
  account_id BIGINT NULL,
  user_id BIGINT NULL,
  locale VARCHAR(8) NOT NULL DEFAULT 'en',
  payload TEXT NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(6) NOT NULL,
  last_error VARCHAR(512) NOT NULL DEFAULT '',
  provider_message_id VARCHAR(128) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  sent_at DATETIME(6) NULL,
  updated_at DATETIME(6) NOT NULL,
  UNIQUE KEY uq_notifications_dedupe (dedupe_key),
  KEY ix_notifications_due (status, next_attempt_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE audit_log (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  actor_user_id BIGINT NULL,
  actor VARCHAR(64) NOT NULL DEFAULT '',
  action VARCHAR(64) NOT NULL,
  target_type VARCHAR(32) NOT NULL DEFAULT '',
  target_id VARCHAR(64) NOT NULL DEFAULT '',
  details TEXT NOT NULL,
  ip VARCHAR(64) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  KEY ix_audit_log_time (created_at),
  KEY ix_audit_log_target (target_type, target_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Platform-wide cloud requests per Kuwait day; a row per day so a restart
-- does not reset the count.
CREATE TABLE cloud_budget_days (
  day CHAR(10) NOT NULL PRIMARY KEY,
  cap_requests INT NOT NULL,
  used_requests INT NOT NULL DEFAULT 0,
  alert80_at DATETIME(6) NULL,
  alert100_at DATETIME(6) NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Account-changed events for embedded mode: gateways poll for ids above the
-- last one they saw (Redis pub/sub carries the same events in Redis mode).
CREATE TABLE account_events (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind VARCHAR(32) NOT NULL,
  account_id BIGINT NULL,
  subject VARCHAR(128) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  KEY ix_account_events_time (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE account_events;
DROP TABLE cloud_budget_days;
DROP TABLE audit_log;
DROP TABLE notifications;
DROP TABLE notification_templates;
DROP TABLE team_members;
DROP TABLE teams;
DROP TABLE usage_records;
DROP TABLE payments;
DROP TABLE credit_ledger;
DROP TABLE wallet_holds;
DROP TABLE wallets;
DROP TABLE topup_packs;
DROP TABLE subscriptions;
DROP TABLE subscription_plans;
DROP TABLE api_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE accounts;
