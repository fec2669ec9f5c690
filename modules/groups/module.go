package groups

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/fitloop/fitloop/platform/auth"
	"github.com/fitloop/fitloop/platform/cron"
)

// Module is the groups module: its service and its routes.
type Module struct {
	svc        *service
	idempotent gin.HandlerFunc
}

// New builds the module from its dependencies.
func New(d Deps) (*Module, error) {
	if d.DB == nil || d.Users == nil || d.Catalog == nil {
		return nil, errors.New("groups: DB, Users and Catalog are required")
	}
	idem := d.Idempotent
	if idem == nil {
		idem = func(c *gin.Context) { c.Next() }
	}
	m := &Module{svc: newService(d), idempotent: idem}
	if m.svc.jobs != nil {
		if err := m.svc.jobs.Handle(WorkoutJob, m.svc.recordWorkout); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// EraseAccount forgets a user (the users module's AccountEraser).
func (m *Module) EraseAccount(ctx context.Context, userID string) error {
	return m.svc.EraseAccount(ctx, userID)
}

// Close stops the module's heartbeat (see live_replica.go).
func (m *Module) Close() error {
	m.svc.stopHeartbeat()
	return nil
}

// Service returns the module's contract.
func (m *Module) Service() Service { return m.svc }

// RegisterRoutes mounts the module's routes on the /api/v1 group.
func (m *Module) RegisterRoutes(rg *gin.RouterGroup, authn auth.Authenticator) {
	registerRoutes(rg, m.svc, authn, m.idempotent)
}

// EndDueJob is the cron job that ends sessions: past their ends_at
// (meetings included), or empty for longer than the grace period.
const EndDueJob = "groups.end_due"

// EndDue is the EndDueJob, every minute by default. A session past its
// ends_at already reads as ended before it runs. It also makes dropped
// participants leave whose grace period passed on a replica that is gone.
func (m *Module) EndDue() cron.Job {
	return cron.Job{Name: EndDueJob, Schedule: "@every 1m", Run: m.svc.endDue}
}
