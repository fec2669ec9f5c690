package etl

import (
	"context"
	"time"

	"github.com/fitloop/fitloop/platform/changefeed"
)

// Cursor is a position in a change feed: changes are ordered by (At, ID),
// and a feed answers those strictly after the cursor. The zero Cursor is
// the beginning.
type Cursor = changefeed.Cursor

// UserChange is an account as the users module's feed gives it: never an
// email, name or biometrics. The users module's AccountChange has the same
// fields, so main.go converts one into the other.
type UserChange struct {
	UserID    string
	Role      string
	Timezone  string // IANA name
	SignupAt  time.Time
	Disabled  bool
	Deleted   bool // closed or erased: the user and every fact of theirs leave the warehouse
	ChangedAt time.Time
}

// WorkoutChange is a workout as the activity module's feed gives it (the
// same fields as activity.WorkoutChange); a tombstone (Deleted) carries
// only ID, UserID and ChangedAt.
type WorkoutChange struct {
	ID             string
	UserID         string
	WorkoutType    string
	StartTime      time.Time
	EndTime        *time.Time // nil while it runs
	Duration       int64      // seconds
	CaloriesBurned float64
	DistanceKM     *float64
	AvgHeartRate   *int
	Source         string
	ChangedAt      time.Time
	Deleted        bool
}

// Users is the users module's account feed (main.go adapts it).
type Users interface {
	UserChanges(ctx context.Context, after Cursor, limit int) ([]UserChange, error)
}

// Workouts is the activity module's workout feed (main.go adapts it).
type Workouts interface {
	WorkoutChanges(ctx context.Context, after Cursor, limit int) ([]WorkoutChange, error)
}
