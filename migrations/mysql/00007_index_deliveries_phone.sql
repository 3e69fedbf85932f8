-- +goose Up
-- The admin pages find a number's notifications ("why did +965… get
-- nothing?"): deliveries by phone, newest first (docs/notifications.md).
ALTER TABLE notification_deliveries ADD INDEX ix_deliveries_phone (phone, id);

-- +goose Down
ALTER TABLE notification_deliveries DROP INDEX ix_deliveries_phone;
