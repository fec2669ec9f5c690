package activity

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/database"
)

// Users is what the module needs from the users module (main.go adapts it).
type Users interface {
	// Basics returns a live account's time zone and weight, or an apperr
	// NotFound (user_not_found).
	Basics(ctx context.Context, userID string) (*UserBasics, error)
	// ActiveGoals lists active goals of live accounts ordered by goal id
	// (Timezone and Quiet are left empty: Basics has them).
	ActiveGoals(ctx context.Context, q GoalQuery) ([]GoalSpec, error)
}

// UserBasics is what the module knows about a user.
type UserBasics struct {
	UserID   string
	Timezone string   // IANA name
	WeightKG *float64 // nil: unknown, DefaultWeightKG is used
	Quiet    QuietHours
}

// GoalQuery selects active goals: one user's (UserID) or everyone's, after
// the goal id After, at most Limit.
type GoalQuery struct {
	UserID string
	After  string
	Limit  int
}

// Push delivers events to a user's live sockets on every replica
// (platform/realtime's hub satisfies it).
type Push interface {
	PublishUser(ctx context.Context, userID, typ string, data any) error
}

// NopPush delivers nothing.
type NopPush struct{}

// PublishUser implements Push.
func (NopPush) PublishUser(context.Context, string, string, any) error { return nil }

// Clock tells the time; tests inject a fixed one.
type Clock func() time.Time

// Deps is everything the activity module needs.
type Deps struct {
	DB    *database.DB // notifications and planner state; the SQL store's database
	Store Store        // default: NewSQLStore(DB)
	Users Users        // required
	Push  Push         // new notifications go live through it; default NopPush
	Log   *slog.Logger
	Clock Clock // default time.Now
	// MaxSamples bounds one metric batch (default 10,000).
	MaxSamples int
	// Idempotent is the Idempotency-Key middleware for the POST routes
	// clients retry (start, end, log, metric batches); nil: keys are ignored.
	Idempotent gin.HandlerFunc
}
