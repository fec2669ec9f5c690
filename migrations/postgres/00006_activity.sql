-- +goose Up
-- Workouts (modules/activity): live sessions (end_time NULL while running)
-- and workouts logged after the fact. Times are UTC, kept to the microsecond.
-- Text keys use the "C" collation: byte order, as on SQLite and MongoDB, so a
-- keyset page follows the same order on every backend (and compares faster).
CREATE TABLE activity_workouts (
    id                 TEXT COLLATE "C" PRIMARY KEY,
    user_id            TEXT COLLATE "C" NOT NULL,
    workout_type       TEXT COLLATE "C" NOT NULL,
    start_time         TIMESTAMPTZ NOT NULL,
    end_time           TIMESTAMPTZ,
    duration           BIGINT NOT NULL DEFAULT 0,
    calories_burned    DOUBLE PRECISION NOT NULL DEFAULT 0,
    calories_estimated BOOLEAN NOT NULL DEFAULT FALSE,
    distance_km        DOUBLE PRECISION,
    avg_heart_rate     INTEGER,
    notes              TEXT NOT NULL DEFAULT '',
    source             TEXT NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
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
-- source is '' when not given, sample_id NULL when not given.
CREATE TABLE activity_samples (
    user_id     TEXT COLLATE "C" NOT NULL,
    metric      TEXT COLLATE "C" NOT NULL,
    recorded_at BIGINT NOT NULL,
    source      TEXT COLLATE "C" NOT NULL,
    value       DOUBLE PRECISION NOT NULL,
    sample_id   TEXT COLLATE "C",
    PRIMARY KEY (user_id, metric, recorded_at, source)
);
-- A client's sample id is the other duplicate rule.
CREATE UNIQUE INDEX activity_samples_sample_id ON activity_samples (user_id, sample_id)
    WHERE sample_id IS NOT NULL;

-- 15-minute rollups of the samples, kept in the transaction that adds them.
-- slot_start is unix microseconds (UTC), a multiple of 15 minutes.
CREATE TABLE activity_metric_slots (
    user_id     TEXT COLLATE "C" NOT NULL,
    metric      TEXT COLLATE "C" NOT NULL,
    slot_start  BIGINT NOT NULL,
    value_sum   DOUBLE PRECISION NOT NULL,
    value_count BIGINT NOT NULL,
    value_min   DOUBLE PRECISION NOT NULL,
    value_max   DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (user_id, metric, slot_start)
);

-- +goose Down
DROP TABLE activity_metric_slots;
DROP TABLE activity_samples;
DROP TABLE activity_workouts;
