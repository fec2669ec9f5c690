-- +goose Up
-- The first day of a queued user's facts that changed: their goals'
-- snapshots are taken again from there (0: all of them).
ALTER TABLE etl_dirty_users ADD COLUMN from_date INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE etl_dirty_users DROP COLUMN from_date;
