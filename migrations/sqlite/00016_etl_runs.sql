-- +goose Up
-- The reporting warehouse's loads (modules/etl), kept with the operational
-- data so that they can be listed while the warehouse is down. At most one
-- load runs at a time, across replicas (etl_runs_one_running).
CREATE TABLE etl_runs (
    id          TEXT PRIMARY KEY,
    trigger     TEXT NOT NULL,
    full_load   BOOLEAN NOT NULL,
    status      TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    stats       TEXT NOT NULL DEFAULT '{}',
    error       TEXT NOT NULL DEFAULT '',
    replica     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX etl_runs_started ON etl_runs (started_at, id);
CREATE UNIQUE INDEX etl_runs_one_running ON etl_runs (status) WHERE status = 'running';

-- +goose Down
DROP TABLE etl_runs;
