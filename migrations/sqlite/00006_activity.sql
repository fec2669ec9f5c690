-- +goose Up
-- Workouts (modules/activity): live sessions (end_time NULL while running)
-- and workouts logged after the fact. Times are UTC, kept to the microsecond.
CREATE TABLE activity_workouts (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL,
    workout_type       TEXT NOT NULL,
    start_time         TIMESTAMP NOT NULL,
    end_time           TIMESTAMP,
    duration           INTEGER NOT NULL DEFAULT 0,
    calories_burned    REAL NOT NULL DEFAULT 0,
    calories_estimated BOOLEAN NOT NULL DEFAULT FALSE,
    distance_km        REAL,
    avg_heart_rate     INTEGER,
    notes              TEXT NOT NULL DEFAULT '',
    source             TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
-- A user's workouts newest first, keyset on (start_time, id).
CREATE INDEX activity_workouts_user_start ON activity_workouts (user_id, start_time, id);
-- The same, filtered by workout type.
CREATE INDEX activity_workouts_user_type_start ON activity_workouts (user_id, workout_type, start_time, id);
-- At most one active workout per user, whatever the race.
CREATE UNIQUE INDEX activity_workouts_one_active ON activity_workouts (user_id) WHERE end_time IS NULL;

-- Health-metric samples. recorded_at is unix microseconds (UTC): an integer
-- key sorts and compares the same on both dialects and keeps the rows small.
-- The primary key is the duplicate rule (same metric, time and source);
-- source is '' when not given, sample_id NULL when not given. WITHOUT ROWID
-- clusters a user's samples by metric and time, the order every read wants.
CREATE TABLE activity_samples (
    user_id     TEXT NOT NULL,
    metric      TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    source      TEXT NOT NULL,
    value       REAL NOT NULL,
    sample_id   TEXT,
    PRIMARY KEY (user_id, metric, recorded_at, source)
) WITHOUT ROWID;
-- A client's sample id is the other duplicate rule.
CREATE UNIQUE INDEX activity_samples_sample_id ON activity_samples (user_id, sample_id)
    WHERE sample_id IS NOT NULL;

-- 15-minute rollups of the samples, kept in the transaction that adds them.
-- slot_start is unix microseconds (UTC), a multiple of 15 minutes.
CREATE TABLE activity_metric_slots (
    user_id     TEXT NOT NULL,
    metric      TEXT NOT NULL,
    slot_start  INTEGER NOT NULL,
    value_sum   REAL NOT NULL,
    value_count INTEGER NOT NULL,
    value_min   REAL NOT NULL,
    value_max   REAL NOT NULL,
    PRIMARY KEY (user_id, metric, slot_start)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE activity_metric_slots;
DROP TABLE activity_samples;
DROP TABLE activity_workouts;
