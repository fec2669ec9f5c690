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
DELETE FROM etl_watermarks WHERE source IN ('metrics', 'metrics.aggregate');
-- The facts, emptied, are one tree now (WITHOUT ROWID): written a day at
-- a time, a table and its key's index were two.
DROP TABLE fact_daily_metrics;
CREATE TABLE fact_daily_metrics (
    user_key  TEXT NOT NULL,
    date_key  INTEGER NOT NULL,
    metric    TEXT NOT NULL,
    sum_value REAL NOT NULL,
    avg_value REAL NOT NULL,
    min_value REAL NOT NULL,
    max_value REAL NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (user_key, date_key, metric)
) WITHOUT ROWID;
CREATE INDEX fact_daily_metrics_metric_date ON fact_daily_metrics (metric, date_key);

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
DROP TABLE fact_daily_metrics;
CREATE TABLE fact_daily_metrics (
    user_key  TEXT NOT NULL,
    date_key  INTEGER NOT NULL,
    metric    TEXT NOT NULL,
    sum_value REAL NOT NULL,
    avg_value REAL NOT NULL,
    min_value REAL NOT NULL,
    max_value REAL NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (user_key, date_key, metric)
);
CREATE INDEX fact_daily_metrics_metric_date ON fact_daily_metrics (metric, date_key);
DELETE FROM etl_watermarks WHERE source = 'metrics';
