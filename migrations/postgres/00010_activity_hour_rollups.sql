-- +goose Up
-- Hourly rollups of the samples beside the 15-minute ones, kept in the same
-- transaction by the same upsert (modules/activity/store_sql_write.go): a
-- series of day buckets reads 24 rows a day instead of 96 when its bounds
-- are whole UTC hours. slot_start is unix microseconds (UTC), a multiple of
-- one hour.
CREATE TABLE activity_metric_hours (
    user_id     TEXT COLLATE "C" NOT NULL,
    metric      TEXT COLLATE "C" NOT NULL,
    slot_start  BIGINT NOT NULL,
    value_sum   DOUBLE PRECISION NOT NULL,
    value_count BIGINT NOT NULL,
    value_min   DOUBLE PRECISION NOT NULL,
    value_max   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, metric, slot_start)
);

-- The hours of the slots stored so far. The hour is floored, also before
-- 1970 (% truncates towards zero).
INSERT INTO activity_metric_hours (user_id, metric, slot_start, value_sum, value_count, value_min, value_max)
SELECT user_id, metric, slot_start - ((slot_start % 3600000000) + 3600000000) % 3600000000,
       SUM(value_sum), SUM(value_count), MIN(value_min), MAX(value_max)
FROM activity_metric_slots
GROUP BY user_id, metric, slot_start - ((slot_start % 3600000000) + 3600000000) % 3600000000;

-- +goose Down
DROP TABLE activity_metric_hours;
