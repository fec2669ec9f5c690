-- +goose Up
-- Goal plans (modules/activity): what the planner learnt when a goal was
-- set through the users.set_goal saga, once per saga step key. baseline is
-- the user's usual value per goal period before the goal (for weight, the
-- weight then), NULL when unknown.
CREATE TABLE activity_goal_plans (
    plan_key     TEXT PRIMARY KEY,
    goal_id      TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    goal_type    TEXT NOT NULL,
    period       TEXT NOT NULL,
    target_value REAL NOT NULL,
    baseline     REAL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX activity_goal_plans_goal ON activity_goal_plans (goal_id);
CREATE INDEX activity_goal_plans_user ON activity_goal_plans (user_id);

-- In-app notifications: goal alerts and achievements. dedupe_key makes each
-- notification happen once, whichever replica or retry creates it.
CREATE TABLE activity_notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    goal_id    TEXT NOT NULL DEFAULT '',
    goal_type  TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at    TIMESTAMP
);
CREATE UNIQUE INDEX activity_notifications_dedupe ON activity_notifications (dedupe_key);
-- A user's notifications newest first: ids are UUIDv7, ordered by time.
CREATE INDEX activity_notifications_user ON activity_notifications (user_id, id);

-- +goose Down
DROP TABLE activity_notifications;
DROP TABLE activity_goal_plans;
