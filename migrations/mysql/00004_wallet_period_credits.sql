-- +goose Up
-- The credits "of this period": the balance right after the most recent
-- grant, written by every grant in the same statement as the balance
-- (docs/adr/0012-credits-of-this-period.md). Existing wallets start from
-- their current balance: the balance after their last grant is not known.
ALTER TABLE wallets ADD COLUMN period_credits BIGINT NOT NULL DEFAULT 0;
UPDATE wallets SET period_credits = balance_credits;

-- +goose Down
ALTER TABLE wallets DROP COLUMN period_credits;
