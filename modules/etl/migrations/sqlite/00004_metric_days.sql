-- +goose Up
-- The stage keeps a row per user, metric and local day instead of one per
-- 15-minute rollup: slots holds the day's rollups packed (stage.go), and a
-- day's fact is aggregated from its row. The old stage is dropped, and
-- the metrics feed is read again from its start (its facts with it).
CREATE TABLE stage_metric_days (
    user_key TEXT NOT NULL,
    metric   TEXT NOT NULL,
    date_key INTEGER NOT NULL,
    slots    BLOB NOT NULL,
    PRIMARY KEY (user_key, metric, date_key)
) WITHOUT ROWID;
DROP TABLE stage_metric_slots;
DELETE FROM fact_daily_metrics;
DELETE FROM etl_watermarks WHERE source IN ('metrics', 'metrics.aggregate');

-- +goose Down
CREATE TABLE stage_metric_slots (
    user_key   TEXT NOT NULL,
    metric     TEXT NOT NULL,
    date_key   INTEGER NOT NULL,
    slot_start INTEGER NOT NULL,
    sum_value  REAL NOT NULL,
    count      INTEGER NOT NULL,
    min_value  REAL NOT NULL,
    max_value  REAL NOT NULL,
    PRIMARY KEY (user_key, metric, date_key, slot_start)
) WITHOUT ROWID;
DROP TABLE stage_metric_days;
DELETE FROM fact_daily_metrics;
DELETE FROM etl_watermarks WHERE source = 'metrics';
