-- +goose Up
-- Idempotency-Key records: one per caller (user id or 'anon'), method, route
-- pattern and key. A request claims its key as 'in_flight'; its answer is
-- stored as 'done' and replayed until expires_at.
CREATE TABLE idempotency_keys (
    user_id       TEXT NOT NULL,
    method        TEXT NOT NULL,
    route         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    status        INTEGER NOT NULL DEFAULT 0,
    response_body BLOB,
    content_type  TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, method, route, idem_key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
