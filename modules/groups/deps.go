package groups

import (
	"context"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/cache"
	"github.com/fitloop/fitloop/platform/database"
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
	Cache  cache.Cache
	Blocks Blocks        // default NopBlocks
	Grace  time.Duration // default DefaultGrace
	// Idempotent is the Idempotency-Key middleware for POST routes clients
	// retry (creating sessions and meetings); nil: keys are ignored.
	Idempotent gin.HandlerFunc
}
