-- +goose Up
-- The admin pages find a number's notifications ("why did +965… get
-- nothing?"): deliveries by phone, newest first (docs/notifications.md).
CREATE INDEX ix_deliveries_phone ON notification_deliveries (phone, id);

-- +goose Down
DROP INDEX ix_deliveries_phone;
