-- +goose Up
-- Quiet hours: "HH:MM" times of day in the user's time zone between which no
-- notification is sent (the span may cross midnight; start = end means none).
ALTER TABLE users_accounts ADD COLUMN quiet_hours_start TEXT NOT NULL DEFAULT '22:00';
ALTER TABLE users_accounts ADD COLUMN quiet_hours_end TEXT NOT NULL DEFAULT '07:00';
-- ActiveGoals walks the active goals of every user in id order; one user's
-- goals keep using users_goals_user (user_id, id).
CREATE INDEX users_goals_active ON users_goals (id) WHERE status = 'active';

-- +goose Down
DROP INDEX users_goals_active;
ALTER TABLE users_accounts DROP COLUMN quiet_hours_end;
ALTER TABLE users_accounts DROP COLUMN quiet_hours_start;
