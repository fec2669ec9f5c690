-- +goose Up
-- saga_instances is the durable state of every saga (platform/saga): saved
-- before and after each step. lease_owner/lease_expires_at say which replica
-- drives it; lease_version is the fencing token every driver write checks.
CREATE TABLE saga_instances (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    version          INTEGER NOT NULL,
    state            TEXT NOT NULL,
    step             INTEGER NOT NULL DEFAULT 0,
    data             TEXT NOT NULL DEFAULT '{}',
    last_error       TEXT NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    lease_owner      TEXT NOT NULL DEFAULT '',
    lease_expires_at TIMESTAMP,
    lease_version    INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    finished_at      TIMESTAMP
);
CREATE INDEX saga_instances_state ON saga_instances (state, id);

-- saga_steps is the append-only log of every step and compensation attempt.
CREATE TABLE saga_steps (
    id      TEXT PRIMARY KEY,
    saga_id TEXT NOT NULL REFERENCES saga_instances (id) ON DELETE CASCADE,
    step    INTEGER NOT NULL,
    name    TEXT NOT NULL,
    phase   TEXT NOT NULL,
    status  TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    error   TEXT NOT NULL DEFAULT '',
    at      TIMESTAMP NOT NULL
);
CREATE INDEX saga_steps_saga ON saga_steps (saga_id, id);

-- saga_effects records idempotency keys (saga_id:step) of effects already
-- applied; a step inserts its key in the same transaction as its effect.
CREATE TABLE saga_effects (
    idem_key   TEXT PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE saga_effects;
DROP TABLE saga_steps;
DROP TABLE saga_instances;
