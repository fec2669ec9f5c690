-- +goose Up
-- leaderboard_opt_in: the user agreed to appear on the leaderboard analytics
-- serves from the reporting warehouse (through the account change feed).
-- Nobody is on it until they opt in.
ALTER TABLE users_accounts ADD COLUMN leaderboard_opt_in BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE users_accounts DROP COLUMN leaderboard_opt_in;
