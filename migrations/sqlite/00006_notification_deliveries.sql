-- +goose Up
-- What sending WhatsApp notifications needs (docs/notifications.md); the
-- MySQL file of this migration explains each table.
ALTER TABLE users ADD COLUMN whatsapp_opt_in BOOLEAN NOT NULL DEFAULT 0;
CREATE INDEX ix_users_phone ON users (phone);

ALTER TABLE wallets ADD COLUMN period_seq BIGINT NOT NULL DEFAULT 0;

CREATE TABLE whatsapp_templates (
  event VARCHAR(64) NOT NULL PRIMARY KEY,
  name VARCHAR(128) NOT NULL,
  language_code VARCHAR(16) NOT NULL,
  category VARCHAR(16) NOT NULL DEFAULT 'utility',
  param_count INT NOT NULL,
  created_at DATETIME NOT NULL,
  updated_at DATETIME NOT NULL
);

CREATE TABLE notification_deliveries (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  notification_id BIGINT NOT NULL,
  user_id BIGINT NULL,
  phone VARCHAR(20) NOT NULL,
  status VARCHAR(16) NOT NULL DEFAULT 'pending',
  attempts INT NOT NULL DEFAULT 0,
  next_attempt_at DATETIME NOT NULL,
  lease_until DATETIME NULL,
  provider_message_id VARCHAR(128) NOT NULL DEFAULT '',
  provider_status VARCHAR(16) NOT NULL DEFAULT '',
  provider_status_at DATETIME NULL,
  last_error VARCHAR(512) NOT NULL DEFAULT '',
  created_at DATETIME NOT NULL,
  sent_at DATETIME NULL,
  updated_at DATETIME NOT NULL,
  CONSTRAINT fk_deliveries_notification FOREIGN KEY (notification_id) REFERENCES notifications (id)
);
CREATE UNIQUE INDEX uq_deliveries_recipient ON notification_deliveries (notification_id, phone);
CREATE INDEX ix_deliveries_due ON notification_deliveries (status, next_attempt_at);
CREATE INDEX ix_deliveries_message ON notification_deliveries (provider_message_id);

CREATE TABLE notifier_state (
  id INT NOT NULL PRIMARY KEY,
  paused_at DATETIME NULL,
  pause_reason VARCHAR(512) NOT NULL DEFAULT '',
  updated_at DATETIME NOT NULL
);

CREATE TABLE password_resets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id BIGINT NOT NULL,
  code_hash VARCHAR(255) NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  expires_at DATETIME NOT NULL,
  used_at DATETIME NULL,
  created_at DATETIME NOT NULL,
  CONSTRAINT fk_password_resets_user FOREIGN KEY (user_id) REFERENCES users (id)
);
CREATE INDEX ix_password_resets_user ON password_resets (user_id, created_at);

-- +goose Down
DROP TABLE password_resets;
DROP TABLE notifier_state;
DROP TABLE notification_deliveries;
DROP TABLE whatsapp_templates;
ALTER TABLE wallets DROP COLUMN period_seq;
DROP INDEX ix_users_phone;
ALTER TABLE users DROP COLUMN whatsapp_opt_in;
