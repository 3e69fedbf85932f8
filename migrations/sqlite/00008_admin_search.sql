-- +goose Up
-- The admin console's search and audit log (docs/architecture.md).

-- Phone search by the number's last digits: every number starts with
-- +965, so a prefix of the number finds everyone. The reversed number,
-- computed by the database itself, turns "ends with" into a prefix an
-- index serves. SQLite has no REVERSE: the expression takes the (at most
-- 20) characters from the last; a position past the end is ''. SQLite
-- adds only VIRTUAL generated columns to an existing table; the index
-- stores the values.
ALTER TABLE users ADD COLUMN phone_reversed TEXT GENERATED ALWAYS AS (substr(phone, 20, 1)||substr(phone, 19, 1)||substr(phone, 18, 1)||substr(phone, 17, 1)||substr(phone, 16, 1)||substr(phone, 15, 1)||substr(phone, 14, 1)||substr(phone, 13, 1)||substr(phone, 12, 1)||substr(phone, 11, 1)||substr(phone, 10, 1)||substr(phone, 9, 1)||substr(phone, 8, 1)||substr(phone, 7, 1)||substr(phone, 6, 1)||substr(phone, 5, 1)||substr(phone, 4, 1)||substr(phone, 3, 1)||substr(phone, 2, 1)||substr(phone, 1, 1)) VIRTUAL;
CREATE INDEX ix_users_phone_reversed ON users (phone_reversed);
CREATE INDEX ix_users_name ON users (name);
CREATE INDEX ix_users_created ON users (created_at);

CREATE INDEX ix_audit_log_actor ON audit_log (actor_user_id, created_at);
CREATE INDEX ix_audit_log_action ON audit_log (action, created_at);

-- +goose Down
DROP INDEX ix_audit_log_action;
DROP INDEX ix_audit_log_actor;
DROP INDEX ix_users_created;
DROP INDEX ix_users_name;
DROP INDEX ix_users_phone_reversed;
ALTER TABLE users DROP COLUMN phone_reversed;
