-- +goose Up
-- Change feeds (users.AccountChanges, users.GoalChanges) walk rows in
-- (updated_at, id) order after a cursor: one index per walk.
CREATE INDEX users_accounts_changes ON users_accounts (updated_at, id);
CREATE INDEX users_goals_changes ON users_goals (updated_at, id);

-- Goals are deleted outright (by their owner, by the users.set_goal saga's
-- compensation, by account erasure); each deletion leaves a tombstone here,
-- written in the deleting transaction, so the goal feed reports it. A goal
-- stored again drops its tombstone.
CREATE TABLE users_goal_tombstones (
    goal_id    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    deleted_at TIMESTAMP NOT NULL
);
CREATE INDEX users_goal_tombstones_changes ON users_goal_tombstones (deleted_at, goal_id);

-- +goose Down
DROP TABLE users_goal_tombstones;
DROP INDEX users_goals_changes;
DROP INDEX users_accounts_changes;
