-- +goose Up
-- The reporting warehouse (modules/etl): a star schema loaded from the
-- other modules' change feeds. Users appear only by a pseudonymous key;
-- no email, name or biometrics. Times are UTC; date keys are yyyymmdd.

CREATE TABLE dim_user (
    user_key           TEXT PRIMARY KEY,
    role               TEXT NOT NULL,
    signup_date        INTEGER NOT NULL,
    timezone           TEXT NOT NULL,
    leaderboard_opt_in BOOLEAN NOT NULL DEFAULT FALSE,
    changed_at         TIMESTAMP NOT NULL
);

CREATE TABLE dim_date (
    date_key    INTEGER PRIMARY KEY,
    day         TEXT NOT NULL,
    year        INTEGER NOT NULL,
    quarter     INTEGER NOT NULL,
    month       INTEGER NOT NULL,
    iso_year    INTEGER NOT NULL,
    iso_week    INTEGER NOT NULL,
    day_of_week INTEGER NOT NULL,
    is_weekend  BOOLEAN NOT NULL
);

CREATE TABLE dim_workout_type (
    workout_type TEXT PRIMARY KEY
);

CREATE TABLE fact_workouts (
    workout_id      TEXT PRIMARY KEY,
    user_key        TEXT NOT NULL,
    date_key        INTEGER NOT NULL,
    workout_type    TEXT NOT NULL,
    start_time      TIMESTAMP NOT NULL,
    end_time        TIMESTAMP,
    duration_s      INTEGER NOT NULL,
    calories_burned REAL NOT NULL,
    distance_km     REAL,
    avg_heart_rate  INTEGER,
    source          TEXT NOT NULL,
    changed_at      TIMESTAMP NOT NULL
);
CREATE INDEX fact_workouts_user_date ON fact_workouts (user_key, date_key);
CREATE INDEX fact_workouts_date ON fact_workouts (date_key);

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

CREATE TABLE fact_goal_progress (
    goal_id   TEXT NOT NULL,
    date_key  INTEGER NOT NULL,
    user_key  TEXT NOT NULL,
    goal_type TEXT NOT NULL,
    target    REAL NOT NULL,
    progress  REAL NOT NULL,
    achieved  BOOLEAN NOT NULL,
    PRIMARY KEY (goal_id, date_key)
);
CREATE INDEX fact_goal_progress_user ON fact_goal_progress (user_key, date_key);

CREATE TABLE fact_group_sessions (
    session_id   TEXT NOT NULL,
    user_key     TEXT NOT NULL,
    date_key     INTEGER NOT NULL,
    workout_type TEXT NOT NULL,
    joined_at    TIMESTAMP NOT NULL,
    left_at      TIMESTAMP NOT NULL,
    present_s    INTEGER NOT NULL,
    PRIMARY KEY (session_id, user_key)
);
CREATE INDEX fact_group_sessions_date ON fact_group_sessions (date_key);

-- How far each source feed has been loaded: its cursor, moved in the same
-- transaction as the rows it covers, so a crash loses nothing and repeats
-- nothing.
CREATE TABLE etl_watermarks (
    source     TEXT PRIMARY KEY,
    changed_at TIMESTAMP NOT NULL,
    id         TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Users erased at the source: their facts are gone and stay out, even if a
-- change of theirs in another feed is read after the erasure.
CREATE TABLE etl_erased_users (
    user_key  TEXT PRIMARY KEY,
    erased_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE etl_erased_users;
DROP TABLE etl_watermarks;
DROP TABLE fact_group_sessions;
DROP TABLE fact_goal_progress;
DROP TABLE fact_daily_metrics;
DROP TABLE fact_workouts;
DROP TABLE dim_workout_type;
DROP TABLE dim_date;
DROP TABLE dim_user;
