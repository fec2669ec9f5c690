-- +goose Up
-- The metric change feed (modules/activity, MetricChanges): every upsert of
-- a 15-minute rollup, insert or update, sets changed_at to the writing
-- replica's clock, taken in the transaction that stores the samples, and
-- the feed reads the slots in (changed_at, user_id, metric, slot_start)
-- order from a watermark. changed_at is TIMESTAMP like activity_workouts'
-- updated_at: the driver's text of a UTC time to the microsecond, which
-- sorts as time (see database.UTC).
--
-- The rows stored before this migration get its time, to the second: they
-- changed at some moment before it, and a consumer reading from the
-- beginning takes them all. ADD COLUMN keeps the table WITHOUT ROWID; it
-- needs a constant default, which the UPDATE replaces at once (the writes
-- always set the column).
ALTER TABLE activity_metric_slots ADD COLUMN changed_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00+00:00';
UPDATE activity_metric_slots SET changed_at = strftime('%Y-%m-%d %H:%M:%S', 'now') || '+00:00';
-- The feed's order. The index holds the primary key too, so the walk
-- reads each slot's values from the table by key.
CREATE INDEX activity_metric_slots_changed ON activity_metric_slots (changed_at, user_id, metric, slot_start);

-- +goose Down
DROP INDEX activity_metric_slots_changed;
ALTER TABLE activity_metric_slots DROP COLUMN changed_at;
