package users

import (
	"context"
	"log/slog"
	"time"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/config"
	"github.com/fitloop/fitloop/platform/database"
)

// ProgressSource computes how far a user is toward a goal. The activity module
// provides it; until then NopProgress answers 0.
type ProgressSource interface {
	CurrentProgress(ctx context.Context, userID string, g GoalSpec) (float64, error)
}

// GoalSpec is what a ProgressSource needs to know about a goal.
type GoalSpec struct {
	GoalType   string
	Period     string
	TargetDate string
	CreatedAt  time.Time
	Timezone   string
}

// NopProgress reports no progress.
type NopProgress struct{}

// CurrentProgress implements ProgressSource.
func (NopProgress) CurrentProgress(context.Context, string, GoalSpec) (float64, error) { return 0, nil }

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
}
