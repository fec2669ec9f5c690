-- +goose Up
-- The attendance feed (modules/groups, SessionChanges) walks ended
-- sessions' summaries in (updated_at, session_id) order after a cursor.
-- updated_at is set when a summary is written and whenever an account's
-- erasure rewrites it; existing summaries were last written when they were
-- created. session_id is in the "C" collation (00013), so the index and the
-- feed order ids byte-wise, as SQLite does.
ALTER TABLE groups_summaries ADD COLUMN updated_at TIMESTAMPTZ;
UPDATE groups_summaries SET updated_at = created_at;
ALTER TABLE groups_summaries ALTER COLUMN updated_at SET NOT NULL;
CREATE INDEX groups_summaries_changes ON groups_summaries (updated_at, session_id);

-- +goose Down
DROP INDEX groups_summaries_changes;
ALTER TABLE groups_summaries DROP COLUMN updated_at;
