-- +goose Up
-- Billing (ADR 6). status_checked_at is when a replica last asked
-- MyFatoorah about a pending payment: the reconciliation job claims a row by
-- moving it forward with a conditional UPDATE, so several portal-api
-- replicas never ask twice in one interval.
ALTER TABLE payments ADD COLUMN status_checked_at DATETIME NULL;
-- The browser's return names a payment by MyFatoorah's PaymentId: a paid
-- one is answered from here without asking MyFatoorah again.
CREATE INDEX ix_payments_provider_payment ON payments (provider_payment_id);
-- One subscription per paid payment: a second apply of the same payment
-- cannot start a second subscription (invariant 2, beside the payment's
-- conditional status change and the ledger's unique reference).
CREATE UNIQUE INDEX uq_subscriptions_payment ON subscriptions (payment_id);

-- +goose Down
DROP INDEX uq_subscriptions_payment;
DROP INDEX ix_payments_provider_payment;
ALTER TABLE payments DROP COLUMN status_checked_at;
