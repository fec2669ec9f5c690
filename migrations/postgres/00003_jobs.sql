-- +goose Up
-- The durable job queue (platform/jobs). state is queued | running |
-- succeeded | failed (the last attempt failed; retried at run_at) | dead.
-- payload is the job's JSON. max_attempts 0 means the configured default.
CREATE TABLE jobs_queue (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL,
    state            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 0,
    run_at           TIMESTAMPTZ NOT NULL,
    lease_owner      TEXT,
    lease_expires_at TIMESTAMPTZ,
    dedupe_key       TEXT,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    finished_at      TIMESTAMPTZ
);
-- Claiming: the due jobs of one kind, oldest first.
CREATE INDEX jobs_queue_claim ON jobs_queue (kind, state, run_at);
-- Admin failures list and clean-up of old finished jobs.
CREATE INDEX jobs_queue_state_updated ON jobs_queue (state, updated_at);
-- A dedupe key is unique among unfinished jobs: once a job with the key
-- succeeds or dies, the key may be enqueued again.
CREATE UNIQUE INDEX jobs_queue_dedupe ON jobs_queue (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running', 'failed');

-- +goose Down
DROP TABLE jobs_queue;
