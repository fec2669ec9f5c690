-- +goose Up
-- What a live group session leaves behind (modules/groups): its summary
-- (participants with their join and leave times, exercise totals, vote
-- results; the chat stays in groups_chat), written once when it ends, and
-- who took part, for access to it and for erasing an account.
CREATE TABLE groups_summaries (
    session_id TEXT PRIMARY KEY,
    summary    TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE groups_summary_members (
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    PRIMARY KEY (session_id, user_id)
);
CREATE INDEX groups_summary_members_user ON groups_summary_members (user_id);
-- The end_due job finds ended sessions whose summary is missing (a
-- replica stopped between the end and the summary) by ended_at.
CREATE INDEX groups_sessions_ended_at ON groups_sessions (ended_at) WHERE ended_at IS NOT NULL;

-- +goose Down
DROP INDEX groups_sessions_ended_at;
DROP TABLE groups_summary_members;
DROP TABLE groups_summaries;
