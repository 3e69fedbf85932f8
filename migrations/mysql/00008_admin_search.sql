-- +goose Up
-- The admin console's search and audit log (docs/architecture.md).

-- Phone search by the number's last digits: every number starts with
-- +965, so a prefix of the number finds everyone. The reversed number,
-- kept by the database itself, turns "ends with" into a prefix an index
-- serves: phone_reversed LIKE '8765%' finds every number ending in 5678.
ALTER TABLE users ADD COLUMN phone_reversed VARCHAR(20) AS (REVERSE(phone)) STORED;
ALTER TABLE users ADD INDEX ix_users_phone_reversed (phone_reversed);
-- Name search by word prefix starts with the name's first word.
ALTER TABLE users ADD INDEX ix_users_name (name);
-- The users list newest first.
ALTER TABLE users ADD INDEX ix_users_created (created_at);

-- The audit log by admin and by action, newest first.
ALTER TABLE audit_log ADD INDEX ix_audit_log_actor (actor_user_id, created_at);
ALTER TABLE audit_log ADD INDEX ix_audit_log_action (action, created_at);

-- +goose Down
ALTER TABLE audit_log DROP INDEX ix_audit_log_action;
ALTER TABLE audit_log DROP INDEX ix_audit_log_actor;
ALTER TABLE users DROP INDEX ix_users_created;
ALTER TABLE users DROP INDEX ix_users_name;
ALTER TABLE users DROP INDEX ix_users_phone_reversed;
ALTER TABLE users DROP COLUMN phone_reversed;
