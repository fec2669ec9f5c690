-- +goose Up
-- The metric change feed's index carries the slots' values (INCLUDE), so
-- that the feed's walk can be an index-only scan instead of a heap fetch a
-- slot. Every write of a slot moves its entry anyway (changed_at changes).
DROP INDEX activity_metric_slots_changed;
CREATE INDEX activity_metric_slots_changed ON activity_metric_slots (changed_at, user_id, metric, slot_start)
    INCLUDE (value_sum, value_count, value_min, value_max);

-- +goose Down
DROP INDEX activity_metric_slots_changed;
CREATE INDEX activity_metric_slots_changed ON activity_metric_slots (changed_at, user_id, metric, slot_start);
