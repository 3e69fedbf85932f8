-- +goose Up
-- What sending WhatsApp notifications needs (docs/notifications.md).

-- Consent: nothing but a password-reset code the user asked for is sent
-- to a user who has not opted in.
ALTER TABLE users ADD COLUMN whatsapp_opt_in BOOLEAN NOT NULL DEFAULT FALSE;
-- Password reset by phone looks users up by their number.
ALTER TABLE users ADD INDEX ix_users_phone (phone);

-- Every grant starts a new period (ADR 12) and counts it here, so that
-- "once per period" alerts (credits at 20 %, credits exhausted) name the
-- period in their dedupe key.
ALTER TABLE wallets ADD COLUMN period_seq BIGINT NOT NULL DEFAULT 0;

-- The WhatsApp template each event is sent as: one template registered
-- with Meta under language_code, whose body is the Arabic half then the
-- English half of notification_templates (one row per locale); its
-- parameters are the Arabic half's, then the English half's (param_count
-- in all). Authentication templates (codes) have one language and the
-- code as their only parameter.
CREATE TABLE whatsapp_templates (
  event VARCHAR(64) NOT NULL PRIMARY KEY,
  name VARCHAR(128) NOT NULL,
  language_code VARCHAR(16) NOT NULL,
  category VARCHAR(16) NOT NULL DEFAULT 'utility',
  param_count INT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One row per recipient of an outbox row: the worker claims due rows
-- (FOR UPDATE SKIP LOCKED on MariaDB), marks them 'sending' with a lease
-- (lease_until), sends, and records the outcome. A lease that runs out
-- (a crashed worker) makes the row due again: at most that one delivery is
-- sent twice.
CREATE TABLE notification_deliveries (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  notification_id BIGINT NOT NULL,
  user_id BIGINT NULL,
  phone VARCHAR(20) NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME(6) NOT NULL,
  lease_until DATETIME(6) NULL,
  provider_message_id VARCHAR(128) NOT NULL DEFAULT '',
  provider_status VARCHAR(16) NOT NULL DEFAULT '',
  provider_status_at DATETIME(6) NULL,
  last_error VARCHAR(512) NOT NULL DEFAULT '',
  created_at DATETIME(6) NOT NULL,
  sent_at DATETIME(6) NULL,
  updated_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_deliveries_notification FOREIGN KEY (notification_id) REFERENCES notifications (id),
  UNIQUE KEY uq_deliveries_recipient (notification_id, phone),
  KEY ix_deliveries_due (status, next_attempt_at),
  KEY ix_deliveries_message (provider_message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Sending as a whole: paused (with why and since when) after Meta refuses
-- the access token, so queued deliveries keep their attempts.
CREATE TABLE notifier_state (
  id INT NOT NULL PRIMARY KEY,
  paused_at DATETIME(6) NULL,
  pause_reason VARCHAR(512) NOT NULL DEFAULT '',
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Password-reset codes: six digits, stored as a hash, valid ten minutes,
-- single use, ended by five wrong tries.
CREATE TABLE password_resets (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  code_hash VARCHAR(255) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  expires_at DATETIME(6) NOT NULL,
  used_at DATETIME(6) NULL,
  created_at DATETIME(6) NOT NULL,
  CONSTRAINT fk_password_resets_user FOREIGN KEY (user_id) REFERENCES users (id),
  KEY ix_password_resets_user (user_id, created_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- +goose Down
DROP TABLE password_resets;
DROP TABLE notifier_state;
DROP TABLE notification_deliveries;
DROP TABLE whatsapp_templates;
ALTER TABLE wallets DROP COLUMN period_seq;
ALTER TABLE users DROP INDEX ix_users_phone;
ALTER TABLE users DROP COLUMN whatsapp_opt_in;
