package users

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
	"github.com/fitloop/fitloop/platform/saga"
)

// ProgressSource computes how far a user is toward a goal and whether they
// keep pace. The activity module provides it; until then NopProgress answers
// no progress.
type ProgressSource interface {
	CurrentProgress(ctx context.Context, userID string, g GoalSpec) (Progress, error)
}

// GoalSpec is what a ProgressSource needs to know about a goal.
type GoalSpec struct {
	GoalID               string
	GoalType             string
	Period               string
	TargetValue          float64
	TargetDate           string // YYYY-MM-DD
	CreatedAt            time.Time
	Timezone             string // IANA
	QuietStart, QuietEnd string // "HH:MM", the user's quiet hours
}

// Progress is how far a user is toward a goal in its current period.
type Progress struct {
	Current       float64
	Expected      *float64 // where the pace says the user should be by now; nil when it means nothing
	ProjectedDate *string  // YYYY-MM-DD the goal is reached at the current pace; nil when not within the period (or the target date)
	OnTrack       bool
}

// NopProgress reports no progress.
type NopProgress struct{}

// CurrentProgress implements ProgressSource.
func (NopProgress) CurrentProgress(context.Context, string, GoalSpec) (Progress, error) {
	return Progress{}, nil
}

// Sagas runs sagas: platform/saga's orchestrator satisfies it.
type Sagas interface {
	// Start runs a saga to its end and returns the failing step's error.
	Start(ctx context.Context, name string, data any, opts ...saga.StartOption) (string, error)
	// StartAsync records a saga and returns its id while it runs.
	StartAsync(ctx context.Context, name string, data any, opts ...saga.StartOption) (string, error)
}

// Planner is told about every new goal so it can adjust suggestions; the
// activity module provides it, NopPlanner until then. key identifies the
// notification: a planner must apply a key once.
type Planner interface {
	GoalSet(ctx context.Context, key string, g PlannedGoal) error
}

// PlannedGoal is what a Planner learns about a goal.
type PlannedGoal struct {
	GoalID, UserID, GoalType, TargetDate, Period string
	TargetValue                                  float64
}

// NopPlanner accepts every goal.
type NopPlanner struct{}

// GoalSet implements Planner.
func (NopPlanner) GoalSet(context.Context, string, PlannedGoal) error { return nil }

// AccountEraser forgets everything a module holds about a user when the
// account is deleted. It must be idempotent: a saga may call it again.
type AccountEraser interface {
	EraseAccount(ctx context.Context, userID string) error
}

// Cache is a shared cache (platform/cache satisfies it). The module keeps
// public profiles and Basics answers in it; session validity stays in a per-replica 1 s cache
// backed by the database, because a revocation racing a cache refill could
// otherwise re-cache a revoked session for the entry's lifetime.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, keys ...string) error
}

// Sockets closes live connections whose access was revoked, on every
// replica (platform/realtime's hub satisfies it). NopSockets until wired.
type Sockets interface {
	CloseSessions(ctx context.Context, sessionIDs ...string) error
	CloseUser(ctx context.Context, userID string) error
}

// NopSockets has no sockets to close.
type NopSockets struct{}

// CloseSessions implements Sockets.
func (NopSockets) CloseSessions(context.Context, ...string) error { return nil }

// CloseUser implements Sockets.
func (NopSockets) CloseUser(context.Context, string) error { return nil }

// Clock tells the time; tests inject a fixed one.
type Clock func() time.Time

// Deps is everything the users module needs.
type Deps struct {
	DB       *database.DB
	Log      *slog.Logger
	Auth     config.Auth
	Signer   *auth.Signer
	Clock    Clock               // default time.Now
	Progress ProgressSource      // default NopProgress
	Failures auth.FailureCounter // default per-replica memory counter
	Sagas    Sagas               // required: goals and account deletion run as sagas
	Cache    Cache               // default: no shared cache
	Sockets  Sockets             // default NopSockets
	Planner  Planner             // default NopPlanner
	Erasers  []AccountEraser     // other modules' erasers for account deletion
	// Idempotent is the Idempotency-Key middleware for POST routes clients
	// retry (goal creation); nil: keys are ignored.
	Idempotent gin.HandlerFunc
}
