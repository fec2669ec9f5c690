package activity

import (
	"context"
	"errors"
	"time"
)

// Store keeps workouts and health-metric samples. Two implementations share
// one contract suite (store_contract_test.go): SQL through gorm (SQLite or
// PostgreSQL, the default) and MongoDB (activity.store: mongo).
//
// Times are UTC. A method returns only after its writes are durable (SQL:
// committed; MongoDB: acknowledged with write concern majority + journal).
// Every write to a workout stamps it: CreateWorkout, EndWorkout and
// UpdateWorkout store w.UpdatedAt (required, the time of the write), the
// deletions their at, which is what the change feed orders by.
type Store interface {
	// CreateWorkout inserts w. An active workout (EndTime nil) while the
	// user already has one fails with *ActiveWorkoutError naming it. A
	// tombstone of w.ID (a deleted group workout recorded again) goes with
	// the insert: the change feed shows the workout live.
	CreateWorkout(ctx context.Context, w *Workout) error
	// Workout returns one workout or ErrWorkoutNotFound.
	Workout(ctx context.Context, id string) (*Workout, error)
	// EndWorkout stores end time, duration, calories and updated_at of an
	// active workout and moves it to the next version: ErrWorkoutNotFound,
	// or ErrWorkoutEnded when it has ended.
	EndWorkout(ctx context.Context, w *Workout) error
	// UpdateWorkout replaces the editable fields of a workout (type, times,
	// duration, calories, distance, heart rate, notes, updated_at) if it is
	// still at w.Version, and moves w to the next version: ErrWorkoutChanged
	// when another write (an update, the end) got there first, so a write
	// based on a stale read can never undo it; ErrWorkoutNotFound.
	UpdateWorkout(ctx context.Context, w *Workout) error
	// DeleteWorkout removes a workout and leaves its tombstone, deleted at
	// at (or at its updated_at, if that is later): ErrWorkoutNotFound.
	DeleteWorkout(ctx context.Context, id string, at time.Time) error
	// Workouts lists a user's workouts newest first (start_time, then id,
	// both descending), after q.After when set, at most q.Limit.
	Workouts(ctx context.Context, q WorkoutQuery) ([]Workout, error)
	// EachWorkout calls fn for each of a user's workouts that start in
	// [from, to), oldest first, without loading them all at once.
	EachWorkout(ctx context.Context, userID string, from, to time.Time, fn func(*Workout) error) error

	// AddSamples stores samples of one user: all or nothing on SQL; on
	// MongoDB (no transactions) a failed call may store part of the batch,
	// and retrying the same batch completes it. A sample that
	// repeats a stored one — same SampleID, or same metric, RecordedAt and
	// Source — is skipped, within the batch too; the answer counts both.
	// Samples are valid (checked by the service) and RecordedAt is truncated
	// to the microsecond.
	AddSamples(ctx context.Context, userID string, samples []Sample) (accepted, duplicates int, err error)
	// Buckets aggregates a user's metric over the buckets [starts[i],
	// starts[i+1]), whose bounds ascend: len(starts)-1 aggregates (none for
	// fewer than two starts), the i-th with Start starts[i] and Count 0
	// when empty. A bucket holds the 15-minute slots whose start falls in
	// it; every time zone's offset is a multiple of 15 minutes, so any
	// local hour or day is a whole number of slots. Aggregates are exact:
	// each stored sample is counted once.
	Buckets(ctx context.Context, userID, metric string, starts []time.Time) ([]Slot, error)
	// LatestSamples returns each metric's most recent sample of a user.
	LatestSamples(ctx context.Context, userID string) ([]Sample, error)
	// EachSample calls fn for each of a user's samples recorded in
	// [from, to), ordered by metric then time, in constant memory.
	EachSample(ctx context.Context, userID string, from, to time.Time, fn func(*Sample) error) error

	// EraseUser deletes every workout, sample and rollup of a user
	// (idempotent), leaving a tombstone of each workout as DeleteWorkout
	// does.
	EraseUser(ctx context.Context, userID string, at time.Time) error

	// WorkoutChanges returns the workouts created, changed or deleted
	// strictly after the cursor, ordered by (ChangedAt, ID), at most limit
	// (1 to MaxChanges): live workouts by their updated_at, deleted ones by
	// their tombstone.
	WorkoutChanges(ctx context.Context, after ChangeCursor, limit int) ([]WorkoutChange, error)
	// MetricChanges returns the 15-minute rollups written strictly after
	// the cursor, with their current totals, ordered by (ChangedAt, ID)
	// where ID is MetricSlotChange.Cursor's, at most limit (1 to MaxChanges);
	// an empty cursor ID answers every change at or after its At. Every
	// AddSamples stamps each slot it adds to with changeStamp, taken as it
	// writes (SQL: in its transaction; MongoDB: before its samples, so a
	// batch of repeats may stamp its slots too). Errors: apperr Invalid on
	// the field "limit" or "after" (checkMetricFeed).
	MetricChanges(ctx context.Context, after ChangeCursor, limit int) ([]MetricSlotChange, error)
}

// Workout is one workout session: live (started, then ended) or logged
// after the fact. EndTime is nil while a live workout runs.
type Workout struct {
	ID                string     `json:"session_id"`
	UserID            string     `json:"user_id"`
	WorkoutType       string     `json:"workout_type"`
	StartTime         time.Time  `json:"start_time"`
	EndTime           *time.Time `json:"end_time"`
	Duration          int64      `json:"duration"` // seconds; 0 while active
	CaloriesBurned    float64    `json:"calories_burned"`
	CaloriesEstimated bool       `json:"calories_estimated"`
	DistanceKM        *float64   `json:"distance_km"`
	AvgHeartRate      *int       `json:"avg_heart_rate"`
	Notes             string     `json:"notes"`
	Source            string     `json:"source"` // live or manual
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	// Version counts the writes to the workout (0 when created); it guards
	// UpdateWorkout against lost updates.
	Version int64 `json:"-"`
}

// Workout sources.
const (
	SourceLive   = "live"
	SourceManual = "manual"
)

// Active reports whether the workout is still running.
func (w *Workout) Active() bool { return w.EndTime == nil }

// WorkoutQuery selects a page of a user's workouts.
type WorkoutQuery struct {
	UserID string
	Type   string    // empty: every type
	From   time.Time // zero: no lower bound on start_time (inclusive)
	To     time.Time // zero: no upper bound on start_time (exclusive)
	After  *WorkoutCursor
	Limit  int
}

// WorkoutCursor is the keyset position after which a page starts.
type WorkoutCursor struct {
	StartTime time.Time
	ID        string
}

// Sample is one health-metric measurement.
type Sample struct {
	Metric     string    `json:"metric"`
	Value      float64   `json:"value"`
	RecordedAt time.Time `json:"recorded_at"`
	Source     string    `json:"source"`    // "" when not given
	SampleID   string    `json:"sample_id"` // "" when not given
}

// Slot aggregates a metric's samples from Start over 15 minutes (a rollup)
// or over a bucket. Min and Max are 0 when Count is.
type Slot struct {
	Start time.Time
	Sum   float64
	Count int64
	Min   float64
	Max   float64
}

// SlotSize is the rollup granularity.
const SlotSize = 15 * time.Minute

// foldSlots folds ascending slots into the buckets [starts[i], starts[i+1])
// as Store.Buckets answers: a slot counts in the bucket its start falls in,
// sums are added in time order.
func foldSlots(slots []Slot, starts []time.Time) []Slot {
	if len(starts) < 2 {
		return nil
	}
	out := make([]Slot, len(starts)-1)
	j := 0
	for i := range out {
		b := &out[i]
		b.Start = starts[i]
		for ; j < len(slots) && slots[j].Start.Before(starts[i+1]); j++ {
			sl := &slots[j]
			if sl.Start.Before(starts[i]) || sl.Count == 0 {
				continue
			}
			if b.Count == 0 {
				b.Min, b.Max = sl.Min, sl.Max
			}
			b.Sum += sl.Sum
			b.Count += sl.Count
			b.Min, b.Max = min(b.Min, sl.Min), max(b.Max, sl.Max)
		}
	}
	return out
}

// Store errors.
var (
	ErrWorkoutNotFound = errors.New("activity: workout not found")
	ErrWorkoutEnded    = errors.New("activity: workout already ended")
	ErrWorkoutChanged  = errors.New("activity: workout changed since it was read")
)

// errNoUpdatedAt refuses a workout write without its time: the change feed
// orders by it.
var errNoUpdatedAt = errors.New("activity: a workout write needs its updated_at")

// ActiveWorkoutError says the user already has an active workout.
type ActiveWorkoutError struct{ SessionID string }

func (e *ActiveWorkoutError) Error() string {
	return "activity: workout " + e.SessionID + " is active"
}
