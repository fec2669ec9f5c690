package activity

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/auth"
)

// Module is the activity module: its service and its routes.
type Module struct {
	svc        *service
	idempotent gin.HandlerFunc
}

// New builds the module from its dependencies.
func New(d Deps) (*Module, error) {
	if d.DB == nil || d.Users == nil {
		return nil, errors.New("activity: DB and Users are required")
	}
	idem := d.Idempotent
	if idem == nil {
		idem = func(c *gin.Context) { c.Next() }
	}
	return &Module{svc: newService(d), idempotent: idem}, nil
}

// Service returns the module's contract.
func (m *Module) Service() Service { return m.svc }

// RegisterRoutes mounts the module's routes on the /api/v1 group.
func (m *Module) RegisterRoutes(rg *gin.RouterGroup, authn auth.Authenticator) {
	registerRoutes(rg, m.svc, m.svc.log, authn, m.idempotent)
}

// EraseAccount forgets every workout, sample, notification and goal plan
// of a user (the users module's AccountEraser; idempotent). Each workout
// leaves a tombstone in the change feed, so the warehouse drops it too.
func (m *Module) EraseAccount(ctx context.Context, userID string) error {
	if err := m.svc.store.EraseUser(ctx, userID, m.svc.clock()); err != nil {
		return err
	}
	return m.svc.notes.eraseUser(ctx, userID)
}

// GoalProgress measures a goal (the users module's ProgressSource).
func (m *Module) GoalProgress(ctx context.Context, g GoalSpec) (Progress, error) {
	return m.svc.GoalProgress(ctx, g)
}

// GoalSet records a new goal once per key (the users module's Planner).
func (m *Module) GoalSet(ctx context.Context, key string, g PlannedGoal) error {
	return m.svc.GoalSet(ctx, key, g)
}

// KnownWorkoutType reports whether name is in the workout catalog (the
// groups module's Catalog).
func (m *Module) KnownWorkoutType(name string) bool {
	_, ok := workoutType(name)
	return ok
}

// Close stops the module's background goal checks.
func (m *Module) Close() error {
	m.svc.achieve.close()
	return nil
}
