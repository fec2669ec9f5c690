-- +goose Up
-- The metric change feed (modules/activity, MetricChanges): every upsert of
-- a 15-minute rollup, insert or update, sets changed_at to the writing
-- replica's clock, taken in the transaction that stores the samples, and
-- the feed reads the slots in (changed_at, user_id, metric, slot_start)
-- order from a watermark; user_id and metric are COLLATE "C", so that order
-- is byte order as on SQLite and MongoDB. changed_at is TIMESTAMPTZ like
-- activity_workouts' updated_at.
--
-- The rows stored before this migration get its time: they changed at some
-- moment before it, and a consumer reading from the beginning takes them
-- all. now() is evaluated once, so adding the column rewrites no row; the
-- default is dropped afterwards (the writes always set the column).
ALTER TABLE activity_metric_slots ADD COLUMN changed_at TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE activity_metric_slots ALTER COLUMN changed_at DROP DEFAULT;
CREATE INDEX activity_metric_slots_changed ON activity_metric_slots (changed_at, user_id, metric, slot_start);

-- +goose Down
DROP INDEX activity_metric_slots_changed;
ALTER TABLE activity_metric_slots DROP COLUMN changed_at;
