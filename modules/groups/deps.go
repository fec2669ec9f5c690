package groups

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/fitloop/fitloop/platform/cache"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/jobs"
)

// Users is what the module needs from the users module (main.go adapts it).
type Users interface {
	// Exists answers nil for a live account, an apperr NotFound otherwise.
	Exists(ctx context.Context, userID string) error
}

// Catalog is what the module needs from the activity module.
type Catalog interface {
	// KnownWorkoutType reports whether name is in the workout catalog.
	KnownWorkoutType(name string) bool
}

// Workouts records a participant's workout when a session ends (the
// activity module; main.go adapts it). It must be idempotent per Key.
type Workouts interface {
	RecordGroupWorkout(ctx context.Context, w WorkoutRecord) error
}

// WorkoutRecord is a participant's workout in an ended session.
type WorkoutRecord struct {
	Key          string // session id + ":" + user id
	UserID       string
	WorkoutType  string
	Start, End   time.Time // first join, last leave
	Present      time.Duration
	AvgHeartRate *int
	Notes        string
}

// Jobs is the job queue (platform/jobs) that records the workouts after a
// session's summary commits, retrying until the activity module takes them.
type Jobs interface {
	Enqueue(ctx context.Context, tx *gorm.DB, job jobs.Job) (string, error)
	Handle(kind string, fn jobs.Handler) error
}

// Blocks tells whether one user has blocked another (the users module will
// provide it); a blocked user cannot join the other's sessions.
type Blocks interface {
	Blocked(ctx context.Context, userID, otherID string) (bool, error)
}

// NopBlocks blocks no one.
type NopBlocks struct{}

// Blocked implements Blocks.
func (NopBlocks) Blocked(context.Context, string, string) (bool, error) { return false, nil }

// Clock tells the time; tests inject their own.
type Clock func() time.Time

// Deps is everything the groups module needs.
type Deps struct {
	DB      *database.DB
	Users   Users   // required
	Catalog Catalog // required
	Log     *slog.Logger
	Clock   Clock // default time.Now
	// Hub carries the live protocol (platform/realtime's hub); nil: REST only.
	Hub liveHub
	// Cache holds live sessions' shared state (default: this process's
	// memory, one replica); with Redis every replica shares it.
	Cache cache.Cache
	// Replica names this process among the replicas (default: a random id).
	Replica string
	Blocks  Blocks        // default NopBlocks
	Grace   time.Duration // default DefaultGrace
	// Workouts and Jobs, together, give each participant of an ended
	// session a workout; nil: none are recorded.
	Workouts Workouts
	Jobs     Jobs
	// MinWorkout is the least time present that earns a workout (0: every
	// participant; the groups.min_workout setting is 1 minute: a peek into
	// a class is not a workout).
	MinWorkout time.Duration
	// Idempotent is the Idempotency-Key middleware for POST routes clients
	// retry (creating sessions and meetings); nil: keys are ignored.
	Idempotent gin.HandlerFunc
}
