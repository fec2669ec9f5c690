-- +goose Up
-- The chat of live group sessions (modules/groups), kept whole for the
-- session's summary; the live state keeps only the last messages. id is a
-- UUIDv7, so it orders a session's messages by time.
CREATE TABLE groups_chat (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    message    TEXT NOT NULL,
    sent_at    TIMESTAMP NOT NULL
);
CREATE INDEX groups_chat_session ON groups_chat (session_id, id);
CREATE INDEX groups_chat_user ON groups_chat (user_id);

-- +goose Down
DROP TABLE groups_chat;
