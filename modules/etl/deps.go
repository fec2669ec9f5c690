package etl

import (
	"context"
	"time"

	"github.com/fitloop/fitloop/platform/changefeed"
)

// Cursor is a position in a change feed: changes are ordered by (At, ID),
// and a feed answers those strictly after the cursor. The zero Cursor is
// the beginning; a Cursor with an empty ID is just before its instant.
type Cursor = changefeed.Cursor

// Feed is a source module's change feed: the rows changed after a cursor,
// at most limit, in (ChangedAt, id) order, deletions as tombstones, and
// the cursor of the last of them (each module encodes its own ids).
type Feed[T any] func(ctx context.Context, after Cursor, limit int) ([]T, Cursor, error)

// Feeds are the sources the loader reads (main.go adapts each module's
// feed). Users is required; a nil feed of another source is an empty one.
type Feeds struct {
	Users    Feed[UserChange]    // users: accounts
	Goals    Feed[GoalChange]    // users: goals
	Workouts Feed[WorkoutChange] // activity
	Metrics  Feed[MetricChange]  // activity: 15-minute rollups of samples
	Sessions Feed[SessionChange] // groups: ended live sessions' attendance
}

// UserChange is an account as the users module's feed gives it: never an
// email, name or biometrics. The users module's AccountChange has the same
// fields, so main.go converts one into the other.
type UserChange struct {
	UserID           string
	Role             string
	Timezone         string // IANA name
	SignupAt         time.Time
	Disabled         bool
	LeaderboardOptIn bool
	Deleted          bool // closed or erased: the user and every fact of theirs leave the warehouse
	ChangedAt        time.Time
}

// GoalChange is a goal as the users module's feed gives it (the fields of
// users.GoalChange); a tombstone (Deleted) carries only GoalID, UserID and
// ChangedAt.
type GoalChange struct {
	GoalID, UserID   string
	GoalType, Period string // steps, calories_burned, …; daily, weekly, monthly, total
	TargetValue      float64
	TargetDate       string // YYYY-MM-DD, or empty
	Status           string // active, completed, cancelled
	CreatedAt        time.Time
	Deleted          bool
	ChangedAt        time.Time
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

// MetricChange is a 15-minute rollup of a user's samples of one metric as
// it is after its latest write (the fields of activity.MetricChange).
// Rollups only grow; they leave with their user's erasure.
type MetricChange struct {
	UserID    string
	Metric    string
	SlotStart time.Time // UTC, a multiple of 15 minutes
	Sum       float64
	Count     int64
	Min, Max  float64
	ChangedAt time.Time
}

// SessionChange is an ended live group session's attendance (groups'
// SessionChange); a tombstone (Deleted) carries SessionID and ChangedAt.
type SessionChange struct {
	SessionID   string
	WorkoutType string
	StartedAt   time.Time
	EndedAt     time.Time
	Attendees   []Attendance
	ChangedAt   time.Time
	Deleted     bool
}

// Attendance is one participant's time in a session.
type Attendance struct {
	UserID   string
	JoinedAt time.Time // first join
	LeftAt   time.Time // last leave
	PresentS int64     // seconds present, over all their stints
}

// Member is an account that opted in to the leaderboard, as the users
// module tells it: the only way a pseudonymous warehouse row gets a name.
type Member struct {
	UserID      string
	DisplayName string
}

// Members lists the live accounts that opted in to the leaderboard (the
// users module; main.go adapts it). It is asked at every request, so an
// opt-out takes effect at once, not at the next load.
type Members func(ctx context.Context) ([]Member, error)
