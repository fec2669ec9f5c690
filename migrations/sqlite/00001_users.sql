-- +goose Up
CREATE TABLE users_accounts (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL,
    email        TEXT NOT NULL,
    role         TEXT NOT NULL DEFAULT 'customer',
    display_name TEXT NOT NULL DEFAULT '',
    bio          TEXT NOT NULL DEFAULT '',
    timezone     TEXT NOT NULL DEFAULT 'UTC',
    units        TEXT NOT NULL DEFAULT 'metric',
    disabled     BOOLEAN NOT NULL DEFAULT FALSE,
    deleted_at   TIMESTAMP,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_accounts_username ON users_accounts (username);
CREATE UNIQUE INDEX users_accounts_email ON users_accounts (email);

CREATE TABLE users_credentials (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users_accounts (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL
);
CREATE INDEX users_credentials_user ON users_credentials (user_id, created_at);

CREATE TABLE users_sessions (
    id               TEXT PRIMARY KEY,
    user_id          TEXT NOT NULL REFERENCES users_accounts (id) ON DELETE CASCADE,
    role             TEXT NOT NULL,
    password_expires_at TIMESTAMP NOT NULL,
    user_agent       TEXT NOT NULL DEFAULT '',
    client_ip        TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMP NOT NULL,
    expires_at       TIMESTAMP NOT NULL,
    last_seen_at     TIMESTAMP NOT NULL,
    revoked_at       TIMESTAMP
);
CREATE INDEX users_sessions_user ON users_sessions (user_id, created_at);

CREATE TABLE users_api_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users_accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE UNIQUE INDEX users_api_tokens_hash ON users_api_tokens (token_hash);
CREATE INDEX users_api_tokens_user ON users_api_tokens (user_id, id);

CREATE TABLE users_biometrics (
    user_id    TEXT PRIMARY KEY REFERENCES users_accounts (id) ON DELETE CASCADE,
    height_cm  REAL,
    weight_kg  REAL,
    birth_date DATE,
    sex        TEXT,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users_weight_history (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users_accounts (id) ON DELETE CASCADE,
    weight_kg   REAL NOT NULL,
    measured_at TIMESTAMP NOT NULL
);
CREATE INDEX users_weight_history_user ON users_weight_history (user_id, measured_at);

CREATE TABLE users_goals (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users_accounts (id) ON DELETE CASCADE,
    goal_type    TEXT NOT NULL,
    target_value REAL NOT NULL,
    target_date  DATE NOT NULL,
    period       TEXT NOT NULL,
    status       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX users_goals_user ON users_goals (user_id, id);

-- +goose Down
DROP TABLE users_goals;
DROP TABLE users_weight_history;
DROP TABLE users_biometrics;
DROP TABLE users_api_tokens;
DROP TABLE users_sessions;
DROP TABLE users_credentials;
DROP TABLE users_accounts;
