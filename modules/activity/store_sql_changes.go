package activity

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// tombstoneSQL writes a tombstone of every workout whose column (%s: id
// or user_id) is the last argument, deleted at the deletion's time or at
// the workout's updated_at if that is later (replicas' clocks differ; a
// tombstone must not sort before the change it ends). An older tombstone
// of the id keeps the later time. Times compare as SQLite's TIMESTAMP text
// does everywhere in this store (see database.UTC).
const tombstoneSQL = `INSERT INTO activity_workout_tombstones (id, user_id, deleted_at)
SELECT id, user_id, CASE WHEN updated_at > ? THEN updated_at ELSE ? END
FROM activity_workouts WHERE %s = ?
ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, deleted_at = CASE
	WHEN excluded.deleted_at > activity_workout_tombstones.deleted_at THEN excluded.deleted_at
	ELSE activity_workout_tombstones.deleted_at END`

// tombstoneBy holds tombstoneSQL for each column it may select by.
var tombstoneBy = map[string]string{
	"id":      fmt.Sprintf(tombstoneSQL, "id"),
	"user_id": fmt.Sprintf(tombstoneSQL, "user_id"),
}

// tombstone writes the tombstones of the workouts whose column is value,
// before the transaction deletes them.
func tombstone(tx *gorm.DB, column, value string, at time.Time) error {
	at = utc(at)
	return tx.Exec(tombstoneBy[column], at, at, value).Error
}

// untombstone removes the tombstone of a workout created again.
func untombstone(tx *gorm.DB, id string) error {
	return tx.Exec("DELETE FROM activity_workout_tombstones WHERE id = ?", id).Error
}

// changesSQL is the feed: the first limit live workouts and the first
// limit tombstones after the cursor, each along its (time, id) index, then
// merged and cut to limit. %[1]s and %[2]s are the keyset conditions on
// the two tables, written as a range on the time plus a filter, as
// Workouts' is, so that both planners start the index walk at the cursor.
const changesSQL = `SELECT id, user_id, workout_type, start_time, end_time, duration, calories_burned,
	distance_km, avg_heart_rate, source, changed_at, deleted
FROM (SELECT id, user_id, workout_type, start_time, end_time, duration, calories_burned, distance_km,
		avg_heart_rate, source, updated_at AS changed_at, FALSE AS deleted
	FROM activity_workouts %[1]s ORDER BY updated_at, id LIMIT ?) AS live
UNION ALL
SELECT id, user_id, '', NULL, NULL, 0, 0, NULL, NULL, '', deleted_at, TRUE
FROM (SELECT id, user_id, deleted_at FROM activity_workout_tombstones %[2]s
	ORDER BY deleted_at, id LIMIT ?) AS dead
ORDER BY changed_at, id LIMIT ?`

// The feed from the beginning and from a cursor.
var (
	changesFrom  = fmt.Sprintf(changesSQL, "", "")
	changesAfter = fmt.Sprintf(changesSQL,
		"WHERE updated_at >= ? AND (updated_at > ? OR id > ?)",
		"WHERE deleted_at >= ? AND (deleted_at > ? OR id > ?)")
)

// WorkoutChanges returns the changes after the cursor in one query that
// merges live workouts and tombstones. A workout and a tombstone of one id
// never coexist (CreateWorkout removes the tombstone, the deletions the
// workout, each in its transaction), so the feed never calls a live
// workout deleted.
func (s *SQLStore) WorkoutChanges(ctx context.Context, after ChangeCursor, limit int) ([]WorkoutChange, error) {
	if err := checkChangeLimit(limit); err != nil {
		return nil, err
	}
	query, args := changesFrom, []any{limit, limit, limit}
	if after != (ChangeCursor{}) {
		at := utc(after.At)
		query, args = changesAfter, []any{at, at, after.ID, limit, at, at, after.ID, limit, limit}
	}
	rows, err := s.db.Read(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, translate("workout changes", err, nil)
	}
	defer rows.Close()
	out := make([]WorkoutChange, 0, min(limit, 256))
	for rows.Next() {
		var c WorkoutChange
		var start *time.Time
		if err := rows.Scan(&c.ID, &c.UserID, &c.WorkoutType, &start, &c.EndTime, &c.Duration, &c.CaloriesBurned,
			&c.DistanceKM, &c.AvgHeartRate, &c.Source, &c.ChangedAt, &c.Deleted); err != nil {
			return nil, translate("workout changes", err, nil)
		}
		if start != nil {
			c.StartTime = start.UTC()
		}
		c.EndTime, c.ChangedAt = utcPtr(c.EndTime), c.ChangedAt.UTC()
		out = append(out, c)
	}
	return out, translate("workout changes", rows.Err(), nil)
}
