-- +goose Up
-- The workout change feed (modules/activity, WorkoutChanges): the rows
-- changed after a (changed_at, id) watermark, live rows by updated_at,
-- deleted ones by their tombstone. A tombstone is written in the
-- transaction that deletes the workout (one delete or a user's erasure);
-- one row per id, the latest deletion kept; creating a workout with that
-- id again removes it in the creating transaction. Text keys use the "C"
-- collation, as activity_workouts' do: the feed's id order is byte order on
-- every backend.
CREATE TABLE activity_workout_tombstones (
    id         TEXT COLLATE "C" PRIMARY KEY,
    user_id    TEXT COLLATE "C" NOT NULL,
    deleted_at TIMESTAMPTZ NOT NULL
);
-- Both halves of the feed are read in (time, id) order from a watermark.
CREATE INDEX activity_workout_tombstones_deleted ON activity_workout_tombstones (deleted_at, id);
CREATE INDEX activity_workouts_updated ON activity_workouts (updated_at, id);

-- +goose Down
DROP INDEX activity_workouts_updated;
DROP TABLE activity_workout_tombstones;
