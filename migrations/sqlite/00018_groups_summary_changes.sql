-- +goose Up
-- The attendance feed (modules/groups, SessionChanges) walks ended
-- sessions' summaries in (updated_at, session_id) order after a cursor.
-- updated_at is set when a summary is written and whenever an account's
-- erasure rewrites it; existing summaries were last written when they were
-- created. SQLite adds a NOT NULL column only with a default: this one is
-- replaced in every row below, and every write sets the column.
ALTER TABLE groups_summaries ADD COLUMN updated_at TIMESTAMP NOT NULL DEFAULT '0001-01-01 00:00:00+00:00';
UPDATE groups_summaries SET updated_at = created_at;
CREATE INDEX groups_summaries_changes ON groups_summaries (updated_at, session_id);

-- +goose Down
DROP INDEX groups_summaries_changes;
ALTER TABLE groups_summaries DROP COLUMN updated_at;
