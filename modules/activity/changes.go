package activity

import (
	"context"
	"fmt"
	"time"

	"github.com/fitloop/fitloop/platform/changefeed"
)

// MaxChanges is the most changes one WorkoutChanges call answers.
const MaxChanges = changefeed.MaxLimit

// ChangeCursor is a position in the workout change feed: changes are
// ordered by (ChangedAt, ID), and the feed answers those strictly after the
// cursor. The zero cursor is the beginning. At is kept to the microsecond,
// as every stored time is.
type ChangeCursor = changefeed.Cursor

// WorkoutChange is a workout as it is after a write: created, changed
// (ended, edited) or deleted. A live workout carries its fields, active
// ones (EndTime nil) included, and ChangedAt is its updated_at. A tombstone
// (Deleted) carries only ID, UserID and ChangedAt, the time of the deletion
// — never earlier than the workout's last change — the other fields zero.
type WorkoutChange struct {
	ID             string
	UserID         string
	WorkoutType    string
	StartTime      time.Time
	EndTime        *time.Time // nil while the workout runs
	Duration       int64      // seconds; 0 while active
	CaloriesBurned float64
	DistanceKM     *float64
	AvgHeartRate   *int
	Source         string
	ChangedAt      time.Time
	Deleted        bool
}

// Cursor is the feed position of c: the next call starts after it.
func (c WorkoutChange) Cursor() ChangeCursor { return ChangeCursor{At: c.ChangedAt, ID: c.ID} }

// liveChange is the change a stored workout shows.
func liveChange(w *Workout) WorkoutChange {
	return WorkoutChange{ID: w.ID, UserID: w.UserID, WorkoutType: w.WorkoutType, StartTime: w.StartTime,
		EndTime: w.EndTime, Duration: w.Duration, CaloriesBurned: w.CaloriesBurned, DistanceKM: w.DistanceKM,
		AvgHeartRate: w.AvgHeartRate, Source: w.Source, ChangedAt: w.UpdatedAt}
}

// checkChangeLimit refuses a page size of the feed out of 1..MaxChanges;
// the stores check it too.
func checkChangeLimit(limit int) error {
	if limit < 1 || limit > MaxChanges {
		return fmt.Errorf("activity: workout changes: limit %d is not between 1 and %d", limit, MaxChanges)
	}
	return nil
}

// WorkoutChanges returns the workouts created, changed or deleted after
// the cursor, ordered by (ChangedAt, ID), at most limit (1 to MaxChanges):
// the feed the ETL module extracts workouts through (issue 6). Fewer than
// limit means the feed is exhausted for now. It trusts its caller: no
// principal is checked. Errors: Invalid for a limit out of range.
//
// ChangedAt is the time of the write as the writing replica's clock saw it,
// taken before its transaction commits. A write may therefore commit after
// another one stamped later, and a consumer whose cursor had passed that
// later stamp would never see it. A consumer should take only the changes
// stamped before the present minus a margin (a few minutes covers commit
// delays and clock skew between replicas), or read again from a little
// before its cursor: applying a change twice is harmless, since each
// carries the workout's whole state.
//
// On MongoDB the feed is as good as the store's writes without
// transactions: a crash between a deletion and its tombstone loses the
// tombstone (see mongoStore.DeleteWorkout).
func (m *Module) WorkoutChanges(ctx context.Context, after ChangeCursor, limit int) ([]WorkoutChange, error) {
	if err := changefeed.CheckLimit(limit); err != nil {
		return nil, err
	}
	return m.svc.store.WorkoutChanges(ctx, after, limit)
}
