-- +goose Up
-- One row per job and scheduled slot: the replica whose insert succeeds runs
-- the slot, every other replica skips it.
CREATE TABLE cron_claims (
    job        TEXT NOT NULL,
    slot       TIMESTAMP NOT NULL,
    replica    TEXT NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (job, slot)
);
CREATE INDEX cron_claims_slot ON cron_claims (slot);

-- Run history: scheduled runs (slot = the claimed slot) and manual ones
-- (manual = true, slot = when an admin asked; no claim).
CREATE TABLE cron_runs (
    id          TEXT PRIMARY KEY,
    job         TEXT NOT NULL,
    slot        TIMESTAMP NOT NULL,
    manual      BOOLEAN NOT NULL DEFAULT FALSE,
    replica     TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    status      TEXT NOT NULL
                CHECK (status IN ('running', 'succeeded', 'failed', 'timed_out', 'panicked', 'skipped')),
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX cron_runs_job_started ON cron_runs (job, started_at);
CREATE INDEX cron_runs_started ON cron_runs (started_at);

-- +goose Down
DROP TABLE cron_runs;
DROP TABLE cron_claims;
