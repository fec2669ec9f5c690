-- +goose Up
-- What fact_daily_metrics and fact_goal_progress are computed from.

-- The activity feed's 15-minute rollups (slot_start: unix microseconds,
-- UTC), kept so that a day's fact is aggregated again whenever one of its
-- slots changes. date_key is the slot's day in the user's time zone (set
-- again when the zone changes), so that a day's slots are one range of
-- the key.
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

-- Goals, from the users feed. Dates are yyyymmdd in the user's zone;
-- snapshot_through is the last day fact_goal_progress holds.
CREATE TABLE dim_goal (
    goal_id          TEXT PRIMARY KEY,
    user_key         TEXT NOT NULL,
    goal_type        TEXT NOT NULL,
    period           TEXT NOT NULL,
    target           REAL NOT NULL,
    target_date      INTEGER,
    status           TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    changed_at       TIMESTAMP NOT NULL,
    snapshot_through INTEGER
);
CREATE INDEX dim_goal_user ON dim_goal (user_key);
CREATE INDEX dim_goal_status ON dim_goal (status, snapshot_through);

-- Users whose goals' snapshots are to be computed again: written in the
-- transaction that changes their facts or goals, removed in the one that
-- writes the snapshots, so a crash between the two loses nothing.
CREATE TABLE etl_dirty_users (
    user_key TEXT PRIMARY KEY
);

-- +goose Down
DROP TABLE etl_dirty_users;
DROP TABLE dim_goal;
DROP TABLE stage_metric_slots;
