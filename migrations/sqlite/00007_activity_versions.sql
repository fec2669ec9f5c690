-- +goose Up
-- Every write to a workout moves its version on; an update names the
-- version it read, so a write based on a stale read (an edit racing the
-- end of the workout) fails instead of undoing the other.
ALTER TABLE activity_workouts ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE activity_workouts DROP COLUMN version;
